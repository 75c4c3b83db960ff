//! The job store's command-line options: where it is (`--store`,
//! `SHOAL_STORE`, else the XDG state directory), whether there is one
//! (`--no-store`), how much history it keeps, and `--force` for `save`.

use std::path::PathBuf;
use std::time::Duration;

use shoal_runtime::store::{Retention, Store, StoreError, default_path};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreOptions {
    /// The job store, an SQLite file [default: $SHOAL_STORE, else
    /// $XDG_STATE_HOME/shoal/shoal.db, else ~/.local/state/shoal/shoal.db].
    #[arg(long = "store", global = true, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Record nothing and keep no history (`jobs`, `job`, `saved` and `rerun` then fail).
    #[arg(long = "no-store", global = true, conflicts_with = "path")]
    pub off: bool,
    /// Delete jobs older than this when the store opens [default: 30d].
    #[arg(long = "keep-for", global = true, value_name = "DUR", value_parser = parse_age)]
    pub keep_for: Option<Duration>,
    /// Delete the oldest jobs when the store opens until it is under this size, e.g. 500M [default: 1G].
    #[arg(long = "keep-size", global = true, value_name = "SIZE", value_parser = parse_size)]
    pub keep_size: Option<u64>,
    /// Let `save NAME` replace an existing baseline.
    #[arg(long, global = true)]
    pub force: bool,
    /// A store in memory only (the demo's).
    #[arg(skip)]
    pub in_memory: bool,
}

impl StoreOptions {
    /// The store these options name, opened; `None` with `--no-store`.
    pub fn open(&self) -> Result<Option<Store>, StoreError> {
        if self.off {
            return Ok(None);
        }
        let store = if self.in_memory {
            Store::in_memory()?
        } else {
            let Some(path) = self.location() else {
                return Err(StoreError::Open {
                    path: PathBuf::from("$XDG_STATE_HOME/shoal/shoal.db"),
                    why: "neither XDG_STATE_HOME nor HOME is set".into(),
                });
            };
            Store::open(&path, &self.retention())?
        };
        Ok(Some(store.with_force(self.force)))
    }

    /// Where the store is: `--store`, else `$SHOAL_STORE`, else the default.
    pub fn location(&self) -> Option<PathBuf> {
        self.path
            .clone()
            .or_else(|| {
                std::env::var_os("SHOAL_STORE")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(default_path)
    }

    fn retention(&self) -> Retention {
        let default = Retention::default();
        Retention {
            max_age: self.keep_for.unwrap_or(default.max_age),
            max_bytes: self.keep_size.unwrap_or(default.max_bytes),
        }
    }
}

/// `30d`, `12h`, or any duration the language takes (`90m`, `3600s`).
pub(crate) fn parse_age(text: &str) -> Result<Duration, String> {
    match text.strip_suffix('d').map(str::parse::<u64>) {
        Some(Ok(days)) => Ok(Duration::from_secs(days * 24 * 3600)),
        _ => shoal_lang::parse_duration(text),
    }
}

/// `1G`, `500M`, `64K` or a number of bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let shift = match unit
        .trim_end_matches(['i', 'B'])
        .to_ascii_uppercase()
        .as_str()
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: write a number with K, M or G, such as 500M"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| {
            format!("`{text}` is not a size: write a number with K, M or G, such as 500M")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_as_people_write_them() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
    }
}
