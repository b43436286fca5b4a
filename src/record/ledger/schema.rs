//! The ledger's tables and how a file of an older schema is brought up to date. SQL only; the
//! meaning of each table is in the design note of `ledger/mod.rs`.
//!
//! A ledger file is marked with `PRAGMA application_id` (so another program's SQLite file is
//! refused, not written into) and `PRAGMA user_version` (the schema version). A new file gets
//! the current schema; an older one runs the migrations after its version, all in one
//! transaction, so a failed migration leaves the file as it was.

use rusqlite::{Connection, TransactionBehavior};

/// `KAYS` in ASCII: this file is a kayse-bulk ledger.
pub const APPLICATION_ID: i64 = 0x4B41_5953;

/// Migration `i` takes a file from version `i` to `i + 1`. Version 0 is an empty file. Add a
/// step for every change and never edit one that has shipped.
pub const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

const V1: &str = r#"
CREATE TABLE runs (
    run_id     INTEGER PRIMARY KEY,
    command    TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    input      TEXT,
    results    TEXT,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    counts     TEXT,
    exit_code  INTEGER
);

CREATE TABLE records (
    entity        TEXT NOT NULL,
    kayse_id      INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('live', 'deleted', 'gone')),
    sent_state    TEXT,
    sent_at       TEXT,
    seen_state    TEXT,
    seen_at       TEXT,
    run_id        INTEGER REFERENCES runs (run_id),
    source_file   TEXT,
    source_row    INTEGER,
    created_run   INTEGER REFERENCES runs (run_id),
    created_batch INTEGER,
    changed_at    TEXT NOT NULL,
    UNIQUE (entity, kayse_id)
);
CREATE INDEX records_stalest ON records (entity, status, seen_at, kayse_id);
CREATE INDEX records_created ON records (created_run, entity, created_batch);

CREATE TABLE record_keys (
    entity   TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    kayse_id INTEGER NOT NULL,
    PRIMARY KEY (entity, key, value, kayse_id),
    FOREIGN KEY (entity, kayse_id) REFERENCES records (entity, kayse_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX record_keys_of ON record_keys (entity, kayse_id);

CREATE TABLE unknowns (
    unknown_id  INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL,
    run_id      INTEGER REFERENCES runs (run_id),
    batch       INTEGER,
    source_file TEXT,
    source_row  INTEGER,
    state       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX unknowns_of_entity ON unknowns (entity, unknown_id);

CREATE TABLE unknown_keys (
    unknown_id INTEGER NOT NULL REFERENCES unknowns (unknown_id) ON DELETE CASCADE,
    entity     TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (unknown_id, key, value)
) WITHOUT ROWID;
CREATE INDEX unknown_keys_by_value ON unknown_keys (entity, key, value);

CREATE TABLE links (
    a_entity TEXT NOT NULL,
    a_id     INTEGER NOT NULL,
    b_entity TEXT NOT NULL,
    b_id     INTEGER NOT NULL,
    PRIMARY KEY (a_entity, a_id, b_entity, b_id)
) WITHOUT ROWID;
CREATE INDEX links_back ON links (b_entity, b_id, a_entity);

CREATE TABLE reports (
    report   TEXT NOT NULL,
    entity   TEXT NOT NULL,
    run_id   INTEGER REFERENCES runs (run_id),
    taken_at TEXT NOT NULL,
    records  INTEGER NOT NULL,
    PRIMARY KEY (report, entity)
);

CREATE TABLE snapshots (
    report   TEXT NOT NULL,
    entity   TEXT NOT NULL,
    kayse_id INTEGER NOT NULL,
    status   TEXT NOT NULL,
    state    TEXT,
    PRIMARY KEY (report, entity, kayse_id)
);
"#;

/// What [`prepare`] found the file to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A ledger at `version`, now brought to the current one.
    Ledger { version: i64 },
    /// Another program's SQLite file (its application id, or tables without ours).
    Foreign { application_id: i64 },
    /// A ledger newer than this build understands.
    TooNew { version: i64 },
}

/// Bring the file to the current schema with `migrations`, creating it if it is empty. Runs
/// in one immediate transaction, so two processes opening a new ledger at once create it once.
pub fn prepare(conn: &mut Connection, migrations: &[&str]) -> rusqlite::Result<Found> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let app: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if app != APPLICATION_ID && (app != 0 || tables != 0 || version != 0) {
        return Ok(Found::Foreign {
            application_id: app,
        });
    }
    let target = migrations.len() as i64;
    if version > target {
        return Ok(Found::TooNew { version });
    }
    for step in &migrations[version as usize..] {
        tx.execute_batch(step)?;
    }
    if version < target {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", target)?;
    }
    tx.commit()?;
    Ok(Found::Ledger { version })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(c: &Connection) -> i64 {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn an_empty_file_gets_the_current_schema_once() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(
            prepare(&mut c, MIGRATIONS).unwrap(),
            Found::Ledger { version: 0 }
        );
        assert_eq!(version(&c), current_version());
        assert_eq!(
            prepare(&mut c, MIGRATIONS).unwrap(),
            Found::Ledger {
                version: current_version()
            }
        );
    }

    #[test]
    fn an_older_ledger_runs_only_the_steps_after_its_version() {
        let mut c = Connection::open_in_memory().unwrap();
        prepare(&mut c, MIGRATIONS).unwrap();
        c.execute(
            "INSERT INTO runs (command, pid, started_at) VALUES ('import', 1, 'x')",
            [],
        )
        .unwrap();
        let mut next: Vec<&str> = MIGRATIONS.to_vec();
        next.push("ALTER TABLE runs ADD COLUMN job TEXT; UPDATE runs SET job = 'nightly';");
        let v = current_version();
        assert_eq!(
            prepare(&mut c, &next).unwrap(),
            Found::Ledger { version: v }
        );
        assert_eq!(version(&c), v + 1);
        let job: String = c
            .query_row("SELECT job FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(job, "nightly", "the old row survived the migration");
    }

    #[test]
    fn a_failed_migration_leaves_the_file_as_it_was() {
        let mut c = Connection::open_in_memory().unwrap();
        prepare(&mut c, MIGRATIONS).unwrap();
        let mut next: Vec<&str> = MIGRATIONS.to_vec();
        next.push("ALTER TABLE runs ADD COLUMN job TEXT; THIS IS NOT SQL;");
        assert!(prepare(&mut c, &next).is_err());
        assert_eq!(version(&c), current_version());
        let cols: i64 = c
            .query_row(
                "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'job'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cols, 0);
    }

    #[test]
    fn foreign_and_newer_files_are_recognised() {
        let table: Vec<(&str, Found)> = vec![
            ("CREATE TABLE t (x)", Found::Foreign { application_id: 0 }),
            (
                "PRAGMA application_id = 7",
                Found::Foreign { application_id: 7 },
            ),
            (
                "PRAGMA application_id = 1262573907; PRAGMA user_version = 99",
                Found::TooNew { version: 99 },
            ),
        ];
        for (setup, want) in table {
            let mut c = Connection::open_in_memory().unwrap();
            c.execute_batch(setup).unwrap();
            assert_eq!(prepare(&mut c, MIGRATIONS).unwrap(), want, "{setup}");
        }
    }
}
