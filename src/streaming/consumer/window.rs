//! Per-partition window of records handled but not yet complete.
//!
//! Records enter in offset order; they complete in any order; the offset that may be
//! stored is that of the last record of the contiguous completed prefix. A failed record
//! holds everything after it back, which is what keeps at-least-once intact while many
//! outputs are in flight.

use std::collections::BTreeMap;

#[derive(Debug)]
struct Entry<T> {
    done: bool,
    data: T,
}

/// In-flight records of one partition, with per-record data `T` (the original bytes, kept
/// in case the record must go to the DLQ).
#[derive(Debug)]
pub struct PartitionWindow<T> {
    entries: BTreeMap<i64, Entry<T>>,
}

impl<T> Default for PartitionWindow<T> {
    fn default() -> Self {
        PartitionWindow {
            entries: BTreeMap::new(),
        }
    }
}

impl<T> PartitionWindow<T> {
    /// Records in the window (pending or completed but held back).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a handled record whose outputs are pending.
    pub fn admit(&mut self, offset: i64, data: T) {
        self.entries.insert(offset, Entry { done: false, data });
    }

    /// Marks `offset` complete. Returns the highest offset whose record and every record
    /// before it in the window are complete — the one to store — if that advanced.
    pub fn complete(&mut self, offset: i64) -> Option<i64> {
        if let Some(e) = self.entries.get_mut(&offset) {
            e.done = true;
        }
        let mut advanced = None;
        while let Some(entry) = self.entries.first_entry() {
            if !entry.get().done {
                break;
            }
            advanced = Some(*entry.key());
            entry.remove();
        }
        advanced
    }

    /// The offsets in the window: (pending, completed but held back).
    pub fn offsets(&self) -> (Vec<i64>, Vec<i64>) {
        let (done, pending): (Vec<_>, Vec<_>) = self.entries.iter().partition(|(_, e)| e.done);
        (
            pending.into_iter().map(|(o, _)| *o).collect(),
            done.into_iter().map(|(o, _)| *o).collect(),
        )
    }

    /// The data of a record still in the window.
    pub fn data(&self, offset: i64) -> Option<&T> {
        self.entries.get(&offset).map(|e| &e.data)
    }

    /// Drops `offset` and everything after it (they will be consumed again).
    pub fn rewind(&mut self, offset: i64) {
        self.entries.split_off(&offset);
    }

    /// The oldest pending offset, if any.
    pub fn first_pending(&self) -> Option<i64> {
        self.entries.iter().find(|(_, e)| !e.done).map(|(o, _)| *o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_only_the_contiguous_completed_prefix() {
        let mut w = PartitionWindow::default();
        for o in 10..15 {
            w.admit(o, ());
        }
        assert_eq!(w.complete(11), None, "10 is still pending");
        assert_eq!(w.complete(13), None);
        assert_eq!(w.complete(10), Some(11), "10 and 11 done, 12 pending");
        assert_eq!(w.first_pending(), Some(12));
        assert_eq!(w.complete(14), None);
        assert_eq!(w.complete(12), Some(14));
        assert!(w.is_empty());
    }

    #[test]
    fn a_failed_record_in_the_middle_holds_back_everything_after_it() {
        let mut w = PartitionWindow::default();
        for o in 0..6 {
            w.admit(o, o * 100);
        }
        for o in [0, 1, 3, 4, 5] {
            w.complete(o);
        }
        assert_eq!(w.len(), 4, "2 pending holds 3..5 back");
        assert_eq!(w.data(2), Some(&200));
        w.rewind(2);
        assert!(w.is_empty(), "2..5 will be consumed again");
    }
}
