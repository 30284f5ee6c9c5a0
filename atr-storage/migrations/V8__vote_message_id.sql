-- The Message-ID of the `[VOTE]` mail of a release's running vote (issue 15): an email vote is
-- tabulated from the thread this mail opens in the server's list archive, never from an upload.
ALTER TABLE releases ADD COLUMN vote_message_id TEXT;
