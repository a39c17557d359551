use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use chrono::NaiveDate;

use super::master_cache::{CacheError, MasterCache, StartPlan, plan};

const HEADER: &str = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,\
                      strike,tick_size,lot_size,instrument_type,segment,exchange";

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, d).unwrap()
}

fn master(rows: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

const RELIANCE: &str = "738561,2885,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,NSE,NSE";
const INFY: &str = "408065,1594,INFY,INFOSYS,0,,0,0.05,1,EQ,NSE,NSE";

/// Every file in `dir` (hidden ones too) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn start_plan_follows_the_cache_date_and_the_credentials() {
    let today = day(12);
    let cases = [
        (
            "fresh, credentials",
            Some(day(12)),
            true,
            StartPlan::UseCache,
        ),
        ("fresh, none", Some(day(12)), false, StartPlan::UseCache),
        (
            "from a later day (clock skew)",
            Some(day(13)),
            false,
            StartPlan::UseCache,
        ),
        (
            "stale, credentials",
            Some(day(11)),
            true,
            StartPlan::Refresh {
                fallback: Some(day(11)),
            },
        ),
        (
            "stale, none",
            Some(day(8)),
            false,
            StartPlan::UseStale { cached: day(8) },
        ),
        (
            "missing, credentials",
            None,
            true,
            StartPlan::Refresh { fallback: None },
        ),
        ("missing, none", None, false, StartPlan::Unavailable),
    ];
    for (case, cached, credentials, expected) in cases {
        assert_eq!(plan(cached, today, credentials), expected, "{case}");
    }
}

#[test]
fn replace_writes_the_master_as_given_under_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let cache = MasterCache::new(dir.path().join("nested/instruments"));
    assert_eq!(
        cache.current().unwrap(),
        None,
        "no directory yet: no master"
    );
    let text = master(&[RELIANCE, INFY]);
    let replaced = cache.replace(&text, "test", day(12)).unwrap();
    assert_eq!(replaced.registry.len(), 2);
    assert_eq!(replaced.previous, None);
    assert_eq!(replaced.cached.date, day(12));
    assert_eq!(
        replaced.cached.path,
        cache.dir().join("kite-instruments-2026-05-12.csv")
    );
    assert_eq!(fs::read_to_string(&replaced.cached.path).unwrap(), text);
    let (cached, registry) = cache.load().unwrap().unwrap();
    assert_eq!(cached, replaced.cached);
    assert_eq!(registry.by_symbol("NSE:INFY").unwrap().token, 408065);
    assert_eq!(snapshot(cache.dir()).len(), 1, "no temporary file left");
}

#[test]
fn a_newer_master_replaces_the_older_and_leaves_other_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cache = MasterCache::new(dir.path());
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    cache
        .replace(&master(&[RELIANCE]), "test", day(11))
        .unwrap();
    let replaced = cache
        .replace(&master(&[RELIANCE, INFY]), "test", day(12))
        .unwrap();
    assert_eq!(replaced.previous.map(|p| p.date), Some(day(11)));
    assert!(replaced.leftovers.is_empty());
    let files: Vec<String> = snapshot(dir.path()).into_keys().collect();
    assert_eq!(files, ["kite-instruments-2026-05-12.csv", "notes.txt"]);
    // The same day again: replaced in place.
    cache.replace(&master(&[INFY]), "test", day(12)).unwrap();
    let (cached, registry) = cache.load().unwrap().unwrap();
    assert_eq!((cached.date, registry.len()), (day(12), 1));
}

#[test]
fn a_malformed_master_is_refused_with_its_line_and_the_cache_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cache = MasterCache::new(dir.path());
    cache
        .replace(&master(&[RELIANCE]), "test", day(11))
        .unwrap();
    let before = snapshot(dir.path());
    let bad = "408065,1594,INFY,INFOSYS,0,,0,abc,1,EQ,NSE,NSE";
    let error = cache
        .replace(&master(&[RELIANCE, bad]), "kite:/instruments", day(12))
        .unwrap_err();
    assert!(matches!(error, CacheError::Invalid(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "kite:/instruments:3: tick_size: expected a decimal ≥ 0, got \"abc\""
    );
    assert_eq!(snapshot(dir.path()), before, "byte for byte");
    let duplicate = cache
        .replace(&master(&[RELIANCE, RELIANCE]), "src", day(12))
        .unwrap_err();
    assert!(
        duplicate.to_string().starts_with("src:3: instrument_token"),
        "{duplicate}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_refused_master_does_not_create_the_cache_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cache = MasterCache::new(dir.path().join("instruments"));
    assert!(cache.replace("not a master", "src", day(12)).is_err());
    assert!(!cache.dir().exists());
}

#[test]
fn a_damaged_cached_file_is_reported_with_its_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cache = MasterCache::new(dir.path());
    let path = cache.path_for(day(12));
    fs::write(&path, master(&[RELIANCE, "1,2,3"])).unwrap();
    let error = cache.load().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3: expected 12 columns ({}), got 3",
            path.display(),
            HEADER
        )
    );
}

#[test]
fn the_newest_master_wins_when_several_are_left() {
    let dir = tempfile::tempdir().unwrap();
    let cache = MasterCache::new(dir.path());
    fs::write(cache.path_for(day(10)), master(&[RELIANCE])).unwrap();
    fs::write(cache.path_for(day(11)), master(&[RELIANCE, INFY])).unwrap();
    fs::write(dir.path().join("kite-instruments-junk.csv"), "x").unwrap();
    fs::write(
        dir.path().join(".kite-instruments-2026-05-13.csv.tmp-1-2"),
        "x",
    )
    .unwrap();
    let (cached, registry) = cache.load().unwrap().unwrap();
    assert_eq!((cached.date, registry.len()), (day(11), 2));
}
