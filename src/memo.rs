//! A process-wide memo with a bound: what the rule engine computes once per
//! key (a condition key's actions, a resource pattern's types) and keeps
//! for the rest of a process, a long-lived Lambda container included.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, OnceLock};

/// At most `limit` entries; past that, answers are computed and not kept,
/// so the documents judged cannot make the process hold more.
pub(crate) struct Memo<K, V> {
    map: OnceLock<Mutex<HashMap<K, V>>>,
    limit: usize,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    pub(crate) const fn new(limit: usize) -> Memo<K, V> {
        Memo {
            map: OnceLock::new(),
            limit,
        }
    }

    /// The kept answer for `key`, else `make()`'s, kept when `keep` and
    /// there is room.
    pub(crate) fn get_or(&self, key: K, keep: bool, make: impl FnOnce() -> V) -> V {
        let map = self.map.get_or_init(Default::default);
        if let Some(hit) = map.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let value = make();
        if keep {
            if let Ok(mut m) = map.lock() {
                if m.len() < self.limit {
                    m.insert(key, value.clone());
                }
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    #[test]
    fn keeps_answers_up_to_its_bound() {
        static MEMO: Memo<u32, u32> = Memo::new(2);
        let mut calls = 0;
        for k in [1, 1, 2, 3, 3] {
            MEMO.get_or(k, true, || {
                calls += 1;
                k * 10
            });
        }
        // 1 and 2 kept; 3 past the bound, computed each time.
        assert_eq!(calls, 4);
        assert_eq!(MEMO.get_or(3, true, || 0), 0, "3 was never kept");
        assert_eq!(MEMO.get_or(1, true, || 0), 10);
        static UNKEPT: Memo<u32, u32> = Memo::new(8);
        UNKEPT.get_or(1, false, || 1);
        assert_eq!(UNKEPT.get_or(1, true, || 2), 2, "not kept when told not to");
    }
}
