from __future__ import annotations

from django.test import Client


def test_openapi_schema_describes_the_api(db: None) -> None:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Reelm API"
    paths = schema["paths"]
    for path in ("/api/videos", "/api/videos/{video_id}", "/api/accounts", "/api/me", "/api/tokens"):
        assert path in paths, path
    assert "post" in paths["/api/videos"]
    assert "multipart/form-data" in paths["/api/videos"]["post"]["requestBody"]["content"]
    assert schema["components"]["securitySchemes"], "token and session auth are documented"


def test_docs_page_is_served_without_a_cdn(db: None) -> None:
    response = Client().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_pages_carry_a_content_security_policy(db: None) -> None:
    policy = Client().get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
