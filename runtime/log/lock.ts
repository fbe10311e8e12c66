// The writer's lock on a data folder: one `ofl run` appends to a log at a time.
//
// An OS-level lock that dies with the process (never a pid file that lies after SIGKILL): a
// small SQLite database `writer.lock` beside the log, opened with `locking_mode = EXCLUSIVE`
// and written once, so this connection keeps SQLite's exclusive (POSIX fcntl) lock on it until
// it closes or the process dies, whatever the cause. A second writer fails at once (no busy
// wait). Readers (`ofl state`, `ofl record`) never touch this file: they read log.sqlite.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "writer.lock";

/** The data folder is locked by another live process. */
export class LogLockedError extends Error {
  constructor(readonly dir: string) {
    super(`the data folder ${dir} is in use by another \`ofl run\` (it holds ${LOCK_FILE}); stop that one first, or give this one another folder with --data`);
    this.name = "LogLockedError";
  }
}

export interface WriterLock {
  readonly path: string;
  release(): void;
}

/** Takes the writer's lock of a data folder (created as needed); throws LogLockedError if another process holds it. */
export function lockDataFolder(dir: string): WriterLock {
  fs.mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("journal_mode = DELETE");
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER, since TEXT)");
    db.exec("DELETE FROM holder");
    db.prepare("INSERT INTO holder (pid, since) VALUES (?, ?)").run(process.pid, new Date().toISOString());
    db.exec("COMMIT"); // in EXCLUSIVE locking mode the lock stays after the commit
  } catch (e) {
    db.close();
    const code = (e as { code?: string }).code ?? "";
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") throw new LogLockedError(dir);
    throw e;
  }
  return {
    path,
    release: () => {
      if (db.open) db.close();
    },
  };
}
