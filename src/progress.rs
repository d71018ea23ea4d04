//! Parser for ffmpeg's `-progress` output: `key=value` lines in blocks that end with
//! `progress=continue` or `progress=end`.

/// One finished progress block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Progress {
    /// Frames encoded so far in this run.
    pub frame: u64,
    /// Encoding frames per second.
    pub fps: f64,
    /// Encode speed as a multiple of real time, when ffmpeg knows it.
    pub speed: Option<f64>,
    /// Output time reached in this run, seconds (relative to the run's start).
    pub out_time: Option<f64>,
    /// `progress=end`: ffmpeg finished writing.
    pub end: bool,
}

/// Accumulates lines into [`Progress`] blocks; tolerant of junk and `N/A` values.
#[derive(Debug, Default)]
pub(crate) struct ProgressParser {
    current: Progress,
}

impl ProgressParser {
    /// Feeds one line; returns a block when the line closes one.
    pub(crate) fn feed(&mut self, line: &str) -> Option<Progress> {
        let (key, value) = line.trim().split_once('=')?;
        let value = value.trim();
        match key.trim() {
            "frame" => self.current.frame = value.parse().unwrap_or(self.current.frame),
            "fps" => self.current.fps = value.parse().ok().filter(|f: &f64| f.is_finite()).unwrap_or(0.0),
            "speed" => {
                self.current.speed =
                    value.trim_end_matches('x').trim().parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0)
            }
            // Despite its name, out_time_ms is in microseconds too.
            "out_time_us" | "out_time_ms" => {
                if let Ok(us) = value.parse::<i64>() {
                    self.current.out_time = Some(us.max(0) as f64 / 1e6);
                }
            }
            "progress" => {
                self.current.end = value == "end";
                return Some(std::mem::take(&mut self.current));
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_block() {
        let mut p = ProgressParser::default();
        let text = "frame=120\nfps=60.5\nstream_0_0_q=28.0\nbitrate=N/A\ntotal_size=N/A\nout_time_us=5000000\nout_time_ms=5000000\nout_time=00:00:05.000000\ndup_frames=0\nspeed=2.52x\nprogress=continue\n";
        let blocks: Vec<_> = text.lines().filter_map(|l| p.feed(l)).collect();
        assert_eq!(blocks.len(), 1);
        let b = blocks[0];
        assert_eq!(b.frame, 120);
        assert_eq!(b.fps, 60.5);
        assert_eq!(b.speed, Some(2.52));
        assert_eq!(b.out_time, Some(5.0));
        assert!(!b.end);
    }

    #[test]
    fn na_values_and_end() {
        let mut p = ProgressParser::default();
        for l in ["speed=N/A", "out_time_us=N/A", "fps=nan"] {
            assert!(p.feed(l).is_none());
        }
        let b = p.feed("progress=end").unwrap();
        assert!(b.end);
        assert_eq!(b.speed, None);
        assert_eq!(b.out_time, None);
        assert_eq!(b.fps, 0.0);
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let mut p = ProgressParser::default();
            for line in String::from_utf8_lossy(&data).lines() {
                let _ = p.feed(line);
            }
        }
    }
}
