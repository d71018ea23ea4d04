//! Reading a finished file as its pieces (init section, segments) are written into it: the video
//! codec, the picture size and the stretch of the video timeline each piece covers. This is the
//! final file's verification; it reads the bytes the assembly copies anyway, so it costs no
//! second pass and no ffprobe process, and it checks every segment's place, not only the total
//! duration. Pure: bytes in, facts out.

mod mp4;
mod sps;
mod ts;

use crate::timeline::Container;
use crate::timeline::Timeline;

/// Video codec and picture size of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Video {
    /// ffprobe's codec name: `h264` or `hevc`.
    pub codec: &'static str,
    /// Displayed width (after cropping).
    pub width: u32,
    /// Displayed height (after cropping).
    pub height: u32,
}

/// A stretch of the video timeline in seconds: as stamped in the file while reading, from the
/// file's earliest frame in an [`Inspection`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// When the piece's first frame starts.
    pub start: f64,
    /// When its last frame ends.
    pub end: f64,
}

/// What a file holds, read from its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Codec and size.
    pub video: Video,
    /// Per piece, in the order fed, the video time it covers (`None` for the fMP4 init section).
    pub spans: Vec<Option<Span>>,
}

impl Inspection {
    /// Checks the file against what the job planned: codec, size, and every segment `k` at its
    /// place on the timeline; says what is wrong.
    pub fn check(&self, timeline: &Timeline, codec: &str, width: u32, height: u32) -> Result<(), String> {
        let v = self.video;
        if (v.width, v.height) != (width, height) {
            return Err(format!("size {}x{} instead of {width}x{height}", v.width, v.height));
        }
        if v.codec != codec {
            return Err(format!("codec {} instead of {codec}", v.codec));
        }
        let spans: Vec<Span> = self.spans.iter().flatten().copied().collect();
        if spans.len() != timeline.count() as usize {
            return Err(format!("{} segments with video instead of {}", spans.len(), timeline.count()));
        }
        // Every segment after the first starts with a keyframe forced at its boundary, so how far
        // they sit from their boundaries is the file's own time offset (the first segment's video
        // may start late, after the audio). The median ignores a few misplaced segments.
        let mut offsets: Vec<f64> =
            spans.iter().enumerate().skip(1).map(|(k, s)| s.start - timeline.start(k as u32)).collect();
        offsets.sort_by(f64::total_cmp);
        let offset = offsets.get(offsets.len() / 2).copied().unwrap_or(0.0);
        // A variable frame rate may leave a segment's first frame a little after its boundary;
        // a segment from the wrong place is off by a whole segment.
        let slack = timeline.segment_seconds as f64 / 2.0;
        for (k, span) in spans.iter().enumerate() {
            let (want, start) = (timeline.start(k as u32), span.start - offset);
            if start < want - 0.1 || start > want + slack {
                return Err(format!("segment {k} starts at {start:.3}s instead of {want:.3}s"));
            }
        }
        let end = spans.last().map_or(0.0, |s| s.end) - offset;
        if (end - timeline.duration).abs() > timeline.segment_seconds as f64 {
            return Err(format!("duration {end:.2}s instead of {:.2}s", timeline.duration));
        }
        Ok(())
    }
}

/// Follows a file's bytes piece by piece.
pub struct Inspector {
    reader: Reader,
    spans: Vec<Option<Span>>,
}

enum Reader {
    Ts(ts::Reader),
    Mp4(mp4::Reader),
}

impl Inspector {
    /// An inspector for a file of this container.
    pub fn new(container: Container) -> Self {
        let reader = match container {
            Container::Ts => Reader::Ts(ts::Reader::default()),
            Container::Mp4 => Reader::Mp4(mp4::Reader::default()),
        };
        Inspector { reader, spans: Vec::new() }
    }

    /// Takes the next bytes of the current piece.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.reader {
            Reader::Ts(r) => r.feed(bytes),
            Reader::Mp4(r) => r.feed(bytes),
        }
        .map_err(|why| self.in_piece(why))
    }

    /// Ends the current piece.
    pub fn end_piece(&mut self) -> Result<(), String> {
        let span = match &mut self.reader {
            Reader::Ts(r) => r.end_piece(),
            Reader::Mp4(r) => r.end_piece(),
        }
        .map_err(|why| self.in_piece(why))?;
        self.spans.push(span);
        Ok(())
    }

    /// What the pieces held, their times counted from the earliest frame.
    pub fn finish(self) -> Result<Inspection, String> {
        let video = match &self.reader {
            Reader::Ts(r) => r.video(),
            Reader::Mp4(r) => r.video(),
        }?;
        let origin = self.spans.iter().flatten().map(|s| s.start).reduce(f64::min).unwrap_or(0.0);
        let spans =
            self.spans.iter().map(|s| s.map(|s| Span { start: s.start - origin, end: s.end - origin })).collect();
        Ok(Inspection { video, spans })
    }

    fn in_piece(&self, why: String) -> String {
        format!("piece {}: {why}", self.spans.len())
    }
}
