"""The gateway: the one way anything crosses from one realm to another. A message is written to the sender's
outbox in the same transaction as the change it reports, drained by the worker at least once, and applied in the
receiving realm once in effect (a receipt in the same transaction as its effect). Each kind of message declares the
fields it carries; a field of protected scope is refused. The outbox, kept after delivery, is the gateway's log."""
