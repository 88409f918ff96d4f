-- +goose Up
-- A place picked on the map (a Telegram location or venue message): its
-- point, and the venue's own title and address. events.place keeps the
-- text the card shows ("title, address", or the coordinates of a bare
-- location), so everything that reads only the text keeps working.
-- place_lat/place_lon are NULL for a typed place.
ALTER TABLE events ADD COLUMN place_lat REAL;
ALTER TABLE events ADD COLUMN place_lon REAL;
ALTER TABLE events ADD COLUMN venue_title TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN venue_address TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN venue_address;
ALTER TABLE events DROP COLUMN venue_title;
ALTER TABLE events DROP COLUMN place_lon;
ALTER TABLE events DROP COLUMN place_lat;
