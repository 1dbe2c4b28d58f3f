-- Perceptual hashes for `similar_photo`: the 64-bit hash, and its four 16-bit quarters, each
-- indexed. Two hashes within distance d agree on some quarter within distance d/4 (pigeonhole),
-- so a lookup asks each quarter's index for a few dozen values instead of scanning every photo.
-- Each index holds the whole hash as well, so candidates are compared without reading rows.

ALTER TABLE photos ADD COLUMN phash BIGINT;
ALTER TABLE photos ADD COLUMN phash_0 INTEGER;
ALTER TABLE photos ADD COLUMN phash_1 INTEGER;
ALTER TABLE photos ADD COLUMN phash_2 INTEGER;
ALTER TABLE photos ADD COLUMN phash_3 INTEGER;
CREATE INDEX photos_phash_0 ON photos (phash_0, phash) WHERE phash_0 IS NOT NULL;
CREATE INDEX photos_phash_1 ON photos (phash_1, phash) WHERE phash_1 IS NOT NULL;
CREATE INDEX photos_phash_2 ON photos (phash_2, phash) WHERE phash_2 IS NOT NULL;
CREATE INDEX photos_phash_3 ON photos (phash_3, phash) WHERE phash_3 IS NOT NULL;
