//! Which segments of a job exist: a bit per segment, with the compact ranges shown in status.

/// Ready flags for every segment of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentSet {
    ready: Vec<bool>,
    count_ready: u32,
}

impl SegmentSet {
    /// All `count` segments missing.
    pub(crate) fn new(count: u32) -> Self {
        SegmentSet { ready: vec![false; count as usize], count_ready: 0 }
    }
    /// Number of segments in the timeline.
    fn len(&self) -> u32 {
        self.ready.len() as u32
    }
    /// Number of ready segments.
    pub(crate) fn ready_count(&self) -> u32 {
        self.count_ready
    }
    /// Whether segment `k` is ready (false when out of range).
    pub(crate) fn is_ready(&self, k: u32) -> bool {
        self.ready.get(k as usize).copied().unwrap_or(false)
    }
    /// Marks `k` ready; returns whether it was new.
    pub(crate) fn mark(&mut self, k: u32) -> bool {
        match self.ready.get_mut(k as usize) {
            Some(r) if !*r => {
                *r = true;
                self.count_ready += 1;
                true
            }
            _ => false,
        }
    }
    /// Marks `k` missing; returns whether it was ready.
    pub(crate) fn unmark(&mut self, k: u32) -> bool {
        match self.ready.get_mut(k as usize) {
            Some(r) if *r => {
                *r = false;
                self.count_ready -= 1;
                true
            }
            _ => false,
        }
    }
    /// First missing segment at or after `from`, wrapping around to fill earlier gaps.
    pub(crate) fn next_missing(&self, from: u32) -> Option<u32> {
        let n = self.len();
        (from..n).chain(0..from.min(n)).find(|&k| !self.is_ready(k))
    }
    /// First ready segment after `k`, which bounds a run that fills the gap at `k`.
    pub(crate) fn next_ready_after(&self, k: u32) -> Option<u32> {
        (k + 1..self.len()).find(|&j| self.is_ready(j))
    }
    /// Ready segments as inclusive `[first, last]` ranges.
    pub(crate) fn ranges(&self) -> Vec<[u32; 2]> {
        let mut out: Vec<[u32; 2]> = Vec::new();
        for k in (0..self.len()).filter(|&k| self.is_ready(k)) {
            match out.last_mut() {
                Some(r) if r[1] + 1 == k => r[1] = k,
                _ => out.push([k, k]),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_compact() {
        let mut s = SegmentSet::new(10);
        for k in [0, 1, 2, 5, 7, 8, 9] {
            assert!(s.mark(k));
        }
        assert!(!s.mark(1));
        assert!(!s.mark(99));
        assert!(s.unmark(1) && !s.unmark(1) && s.mark(1), "unmarking counts once");
        assert_eq!(s.ranges(), vec![[0, 2], [5, 5], [7, 9]]);
        assert_eq!(s.ready_count(), 7);
        assert_eq!(s.next_missing(6), Some(6));
        assert_eq!(s.next_missing(7), Some(3));
        assert_eq!(s.next_ready_after(3), Some(5));
    }
}
