-- +goose Up
-- Several replicas on one database (store/lease.go, store/chat_claims.go).
--
-- A lease is a role one replica holds at a time (polling Telegram,
-- sending, housekeeping): taken when free or expired, renewed by its
-- holder well before expires_at, and given a new term at every change of
-- holder, which fences the writes of a holder that lost it.
CREATE TABLE leases (
    name        TEXT   PRIMARY KEY,
    holder      TEXT   NOT NULL,
    term        BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
-- Which replica handles a chat's updates now: one at a time per chat, so
-- they run in update_id order; released when the chat has nothing
-- pending, taken over when its replica stops renewing it.
CREATE TABLE chat_claims (
    chat_id    BIGINT PRIMARY KEY,
    owner      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX chat_claims_owner ON chat_claims(owner);
-- A chat's pending updates in order (claims, the orphan scan).
CREATE INDEX inbox_chat_pending ON inbox(chat_id, update_id) WHERE done_at IS NULL;

-- +goose Down
DROP INDEX inbox_chat_pending;
DROP TABLE chat_claims;
DROP TABLE leases;
