// What a published output carries in its user metadata: the exact source version it replaced, its
// SHA-256 and where the backup went. Runner and purge read the same names.
export const SOURCE_KEY = "reelpress-source-key";
export const SOURCE_SIZE = "reelpress-source-size";
export const SOURCE_ETAG = "reelpress-source-etag";
export const SHA256 = "reelpress-sha256";
/** Where the verified backup of the source went (the next free name when the usual one was taken). */
export const BACKUP_KEY = "reelpress-backup-key";
