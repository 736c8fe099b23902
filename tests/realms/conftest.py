"""Browser tests of realms save their screenshots where the other browser tests do."""

from tests.e2e.conftest import browser_artifacts

__all__ = ["browser_artifacts"]
