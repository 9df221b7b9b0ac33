-- A subscription can be paused on the server (PATCH /v1/subscriptions/{id}
-- {"paused": true}): the processor's matcher skips it, so it gets no alert,
-- no surge alert and no digest while paused. Resuming does not replay what
-- was skipped. The subscriptions trigger of 0300 notifies the processor of
-- the change like any other update.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS paused boolean NOT NULL DEFAULT false;
