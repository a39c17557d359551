//! [`RecentIds`]: the most recent ids seen, bounded, in insertion order — for recognising
//! redeliveries without remembering every event since the process first started (which
//! would make each save of the risk state, and so the whole pipeline, slower the longer
//! it runs).
//!
//! A redelivery comes from a consumer's in-flight window (at most 512 records per
//! partition), so a bound of [`KEPT`] covers it many times over.

use serde::{Deserialize, Deserializer};
use std::collections::{BTreeSet, VecDeque};

/// Ids remembered per broker and kind.
pub const KEPT: usize = 5_000;

/// Up to [`KEPT`] ids, the oldest forgotten first. Read from a JSON list, oldest first (the
/// state saved by earlier versions; a set saved as a list loads too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentIds<T: Ord + Clone> {
    order: VecDeque<T>,
    set: BTreeSet<T>,
}

impl<T: Ord + Clone> Default for RecentIds<T> {
    fn default() -> Self {
        RecentIds {
            order: VecDeque::new(),
            set: BTreeSet::new(),
        }
    }
}

impl<T: Ord + Clone> RecentIds<T> {
    pub fn contains(&self, id: &T) -> bool {
        self.set.contains(id)
    }

    /// Remembers `id`; false if it was remembered already.
    pub fn insert(&mut self, id: T) -> bool {
        if !self.set.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id);
        while self.order.len() > KEPT {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    /// The ids, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.order.iter()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }
}

impl<'de, T: Ord + Clone + Deserialize<'de>> Deserialize<'de> for RecentIds<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut ids = RecentIds::default();
        for id in Vec::<T>::deserialize(d)? {
            ids.insert(id);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_most_recent_ids_and_forgets_the_oldest() {
        let mut ids = RecentIds::default();
        assert!(ids.insert(0_u32));
        assert!(!ids.insert(0));
        for i in 1..(KEPT as u32 + 10) {
            ids.insert(i);
        }
        assert_eq!(ids.len(), KEPT);
        assert!(!ids.contains(&0) && !ids.contains(&9));
        assert!(ids.contains(&10) && ids.contains(&(KEPT as u32 + 9)));
    }

    #[test]
    fn reads_a_list_oldest_first_and_drops_repeats() {
        let ids: RecentIds<String> = serde_json::from_str(r#"["b","a","b"]"#).unwrap();
        assert_eq!(ids.iter().collect::<Vec<_>>(), ["b", "a"]);
        assert!(ids.contains(&"a".to_owned()) && ids.len() == 2);
    }
}
