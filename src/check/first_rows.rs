//! The duplicate check's memory: for each key's 64-bit hash (or each id), the row that first used
//! it. An open-addressing table with linear probing, of 12-byte entries.
//!
//! It is ours, not a `HashMap`, for one reason: the slot a hash lands in is known before the
//! probe, so the caller can [`FirstRows::prefetch`] the next row's slots while it settles this
//! one. On a million rows the tables are tens of megabytes, every probe misses the cache, and
//! those misses were most of the duplicate check's time. Pure: no I/O.

/// One entry: the hash in two halves (a `u64` would pad the entry to 16 bytes) and the row plus
/// one, so that 0 marks an empty slot. Plain integers, so a new table is zeroed memory the
/// system hands over untouched, its pages faulted in as probes reach them, not written up front.
type Entry = [u32; 3];

const EMPTY: Entry = [0; 3];

fn holds(e: &Entry, h: u64) -> bool {
    e[0] == (h >> 32) as u32 && e[1] == h as u32
}

/// Hashes (or ids) and the first row that used each.
#[derive(Debug)]
pub struct FirstRows {
    entries: Vec<Entry>,
    len: usize,
}

/// The fewest slots a table starts with.
const MIN_SLOTS: usize = 16;

impl Default for FirstRows {
    fn default() -> Self {
        FirstRows::with_capacity(0)
    }
}

impl FirstRows {
    /// Room for `n` entries before the table grows.
    pub fn with_capacity(n: usize) -> FirstRows {
        FirstRows {
            entries: vec![EMPTY; slots_for(n)],
            len: 0,
        }
    }

    /// Make room for `n` entries in all, so the table does not grow while they arrive.
    pub fn reserve(&mut self, n: usize) {
        if slots_for(n) > self.entries.len() {
            self.rehash(slots_for(n));
        }
    }

    /// The row that first used `h`; if none did, `row` becomes that row and `None` is returned.
    pub fn first_or_insert(&mut self, h: u64, row: u32) -> Option<u32> {
        let mut i = self.home(h);
        loop {
            let e = self.entries[i];
            if e[2] == 0 {
                break;
            }
            if holds(&e, h) {
                return Some(e[2] - 1);
            }
            i = self.next(i);
        }
        self.entries[i] = [(h >> 32) as u32, h as u32, row.saturating_add(1)];
        self.len += 1;
        // Grow at three quarters full: linear probing stays short below that.
        if self.len * 4 > self.entries.len() * 3 {
            self.rehash(self.entries.len() * 2);
        }
        None
    }

    /// Ask the processor to bring `h`'s slot into the cache, so a later probe for it does not
    /// wait on memory. Only a hint: it changes nothing and never fails.
    pub fn prefetch(&self, h: u64) {
        prefetch_slot(&self.entries[self.home(h)..]);
    }

    /// The slot where a probe for `h` starts. The hash is mixed first (times a large odd
    /// constant), so that ids, which are not hashed, spread too; its top bits then pick a slot
    /// in proportion (a multiply and a shift, no division), so the table need not be a power
    /// of two long and takes no more memory than its load calls for.
    fn home(&self, h: u64) -> usize {
        let mixed = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(mixed) * self.entries.len() as u128) >> 64) as usize
    }

    /// The slot after `i`, wrapping at the end.
    fn next(&self, i: usize) -> usize {
        if i + 1 == self.entries.len() {
            0
        } else {
            i + 1
        }
    }

    fn rehash(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; slots]);
        for e in old.into_iter().filter(|e| e[2] != 0) {
            let h = (u64::from(e[0]) << 32) | u64::from(e[1]);
            let mut i = self.home(h);
            while self.entries[i][2] != 0 {
                i = self.next(i);
            }
            self.entries[i] = e;
        }
    }
}

/// Slots that hold `n` entries at about two thirds full, under the three quarters that grows
/// the table.
fn slots_for(n: usize) -> usize {
    (n.saturating_mul(3) / 2 + 1).max(MIN_SLOTS)
}

/// A prefetch hint for the first entry of `at`. The one `unsafe` of the duplicate check: the
/// intrinsic is marked so only because it takes a pointer; a prefetch never reads through it for
/// the program, cannot fault, and here points into a live slice anyway.
#[allow(unsafe_code)]
fn prefetch_slot(at: &[Entry]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint with no architectural effect; the pointer is valid.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(at.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_row_keeps_each_hash() {
        let mut t = FirstRows::default();
        let cases: &[(u64, u32, Option<u32>)] = &[
            (7, 2, None),
            (7, 3, Some(2)),
            (0, 4, None), // a hash of 0 is a hash like any other
            (0, 5, Some(4)),
            (u64::MAX, 6, None),
            (u64::MAX, 7, Some(6)),
            (7, 8, Some(2)),
            (1 << 32, 9, None), // same low half as 0, another high half
            (0, 0, Some(4)),
        ];
        for &(h, row, want) in cases {
            assert_eq!(t.first_or_insert(h, row), want, "hash {h} at row {row}");
        }
        assert_eq!(t.len, 4);
    }

    #[test]
    fn row_zero_and_the_largest_row_are_kept() {
        let mut t = FirstRows::default();
        assert_eq!(t.first_or_insert(1, 0), None);
        assert_eq!(t.first_or_insert(1, 5), Some(0));
        assert_eq!(t.first_or_insert(2, u32::MAX - 1), None);
        assert_eq!(t.first_or_insert(2, 5), Some(u32::MAX - 1));
    }

    #[test]
    fn growing_keeps_every_entry() {
        // Small consecutive hashes, and hashes spread over all 64 bits.
        let small: Vec<u64> = (0..500u64).collect();
        let spread: Vec<u64> = (0..5000u64)
            .map(|i| i.wrapping_mul(0xDEAD_BEEF_1234_5679))
            .collect();
        for keys in [small, spread] {
            let mut t = FirstRows::with_capacity(3);
            for (row, &h) in keys.iter().enumerate() {
                assert_eq!(t.first_or_insert(h, row as u32), None);
            }
            assert_eq!(t.len, keys.len());
            assert!(
                t.entries.len() * 3 >= t.len * 4,
                "kept under three quarters full"
            );
            for (row, &h) in keys.iter().enumerate() {
                assert_eq!(t.first_or_insert(h, 0), Some(row as u32), "hash {h}");
                t.prefetch(h);
            }
        }
    }

    #[test]
    fn reserve_sizes_once() {
        let mut t = FirstRows::default();
        t.reserve(1_000_000);
        let slots = t.entries.len();
        assert_eq!(slots, 1_500_001, "a million entries at two thirds full");
        for h in 0..1_000_000u64 {
            t.first_or_insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15), 1);
        }
        assert_eq!(t.entries.len(), slots, "no growth within the reservation");
        t.reserve(10);
        assert_eq!(t.entries.len(), slots, "reserve never shrinks");
        assert_eq!(t.len, 1_000_000);
    }
}
