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

/// What one piece (a segment) holds, its times in seconds as stamped in the file while reading,
/// from the file's earliest frame in an [`Inspection`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Video frames in it.
    pub frames: u32,
    /// When its first frame is shown (fMP4: decoded, its fragments carry no presentation time).
    pub first: f64,
    /// When its last frame is shown (fMP4: decoded).
    pub last: f64,
    /// When its video ends: the last frame plus one frame's length.
    pub end: f64,
    /// Its audio, when it has some.
    pub audio: Option<Audio>,
    /// It decodes on its own: its first access unit carries its parameter sets (MPEG-TS), or
    /// they are in the init section (fMP4).
    pub self_contained: bool,
}

/// A piece's audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Audio {
    /// When its first frame starts.
    pub first: f64,
    /// When its last frame ends.
    pub end: f64,
    /// The largest hole or overlap between two of its packets, seconds.
    pub largest_gap: f64,
    /// AAC frames in it.
    pub frames: u32,
}

impl Audio {
    /// How long one of its frames lasts.
    fn frame(&self) -> f64 {
        (self.end - self.first) / f64::from(self.frames.max(1))
    }
}

/// Two times that stand for the same frame differ by at most this (a millisecond clock, as
/// Matroska's, moved to MPEG-TS's 90 kHz and back).
pub(crate) const TICK: f64 = 0.0015;

/// What a job expects of its segments.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The segment timeline.
    pub timeline: &'a Timeline,
    /// Every source frame's presentation time (from the source's packets), when read.
    pub frames: Option<&'a [f64]>,
    /// The segments carry audio.
    pub audio: bool,
    /// Presentation times are checked (MPEG-TS); fMP4 pieces carry decode times only.
    pub presentation_times: bool,
}

impl Expect<'_> {
    /// The source frames segment `k` must hold: those shown from its start until the next's.
    pub fn frames_of(&self, k: u32) -> Option<&[f64]> {
        let frames = self.frames?;
        let t = self.timeline;
        let from = frames.partition_point(|&f| f < t.start(k) - 1e-7);
        let to = if k + 1 < t.count() { frames.partition_point(|&f| f < t.start(k + 1) - 1e-7) } else { frames.len() };
        Some(&frames[from..to.max(from)])
    }

    /// Where piece `k` sits against the source's clock (the file's own offset, e.g. MPEG-TS's
    /// mux delay), when the frames are known and the piece has its first frame.
    pub fn offset_of(&self, k: u32, piece: &Piece) -> Option<f64> {
        Some(piece.first - *self.frames_of(k)?.first()?)
    }

    /// Checks piece `k` on its own: non-empty, decodable alone, exactly its source frames (the
    /// count, and the first and last frame's times against `offset`, the file's own offset),
    /// or, with the source's frames not read yet, starting and ending at its boundaries; audio
    /// without a hole inside. Says what is wrong.
    pub fn check_piece(&self, k: u32, piece: &Piece, offset: f64) -> Result<(), String> {
        let t = self.timeline;
        if !piece.self_contained {
            return Err(format!("segment {k} does not open with its parameter sets"));
        }
        match self.frames_of(k) {
            Some(want) => {
                if piece.frames as usize != want.len() {
                    return Err(format!("segment {k} holds {} frames instead of {}", piece.frames, want.len()));
                }
                let (first, last) = (piece.first - offset, piece.last - offset);
                let tol = if self.presentation_times { TICK } else { t.target_duration() as f64 / 4.0 };
                let (want_first, want_last) =
                    (want.first().copied().unwrap_or(0.0), want.last().copied().unwrap_or(0.0));
                if (first - want_first).abs() > tol {
                    return Err(format!("segment {k} starts at {first:.4}s instead of {want_first:.4}s"));
                }
                if self.presentation_times && (last - want_last).abs() > tol {
                    return Err(format!("segment {k} ends with a frame at {last:.4}s instead of {want_last:.4}s"));
                }
            }
            None => {
                // Without the source's frames: the start within a frame or two of the boundary,
                // the end (but the last segment's) within a couple of frames of the next.
                let frame = 1.0 / t.fps.max(1.0);
                let (first, end, want) = (piece.first - offset, piece.end - offset, t.start(k));
                if first < want - frame || first > want + (2.0 * frame).max(0.2) {
                    return Err(format!("segment {k} starts at {first:.3}s instead of {want:.3}s"));
                }
                if k + 1 < t.count() && (end - t.start(k + 1)).abs() > 2.0 * frame + 0.05 {
                    return Err(format!("segment {k} ends at {end:.3}s instead of {:.3}s", t.start(k + 1)));
                }
            }
        }
        match piece.audio {
            None if self.audio => Err(format!("segment {k} has no audio")),
            Some(a) if a.largest_gap > a.frame() + TICK => {
                Err(format!("segment {k}'s audio has a hole of {:.3}s", a.largest_gap))
            }
            _ => Ok(()),
        }
    }
}

/// What a file holds, read from its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Codec and size.
    pub video: Video,
    /// Per piece, in the order fed, what it holds (`None` for the fMP4 init section).
    pub pieces: Vec<Option<Piece>>,
}

impl Inspection {
    /// Checks the file against what the job planned: codec, size, every segment as
    /// [`Expect::check_piece`] checks it (the file's offset from the source's clock taken as the
    /// segments' median), and audio that runs on from one segment into the next without a hole
    /// or an overlap of more than one audio frame. Returns the segments that fail (the job
    /// makes them again) or what is wrong with the whole file.
    pub fn check(&self, expect: &Expect, codec: &str, width: u32, height: u32) -> Result<Vec<(u32, String)>, String> {
        let v = self.video;
        if (v.width, v.height) != (width, height) {
            return Err(format!("size {}x{} instead of {width}x{height}", v.width, v.height));
        }
        if v.codec != codec {
            return Err(format!("codec {} instead of {codec}", v.codec));
        }
        let t = expect.timeline;
        let pieces: Vec<Piece> = self.pieces.iter().flatten().copied().collect();
        if pieces.len() != t.count() as usize {
            return Err(format!("{} segments with video instead of {}", pieces.len(), t.count()));
        }
        // The file's own offset from the source's clock (MPEG-TS adds a mux delay): the
        // median, so a few misplaced segments cannot move it. Without the source's frames,
        // segments after the first start at their boundaries (the first one's video may start
        // late, after the audio).
        let mut offsets: Vec<f64> = pieces
            .iter()
            .enumerate()
            .filter_map(|(k, p)| match expect.frames {
                Some(_) => expect.offset_of(k as u32, p),
                None => (k > 0).then(|| p.first - t.start(k as u32)),
            })
            .collect();
        offsets.sort_by(f64::total_cmp);
        let offset = offsets.get(offsets.len() / 2).copied().unwrap_or(0.0);
        let mut bad: Vec<(u32, String)> = Vec::new();
        for (k, p) in pieces.iter().enumerate() {
            if let Err(why) = expect.check_piece(k as u32, p, offset) {
                bad.push((k as u32, why));
            }
        }
        for (k, w) in pieces.windows(2).enumerate() {
            if let (Some(a), Some(b)) = (w[0].audio, w[1].audio) {
                let gap = b.first - a.end;
                if gap.abs() > a.frame().max(b.frame()) + TICK {
                    let what = if gap > 0.0 { "a hole" } else { "an overlap" };
                    // The segment before the join is made again by a run that ends exactly there.
                    bad.push((k as u32, format!("{what} of {:.3}s in the audio after segment {k}", gap.abs())));
                }
            }
        }
        let end = pieces.last().map_or(0.0, |p| p.end) - offset;
        if expect.frames.is_none() && (end - t.duration).abs() > t.segment_seconds as f64 {
            return Err(format!("duration {end:.2}s instead of {:.2}s", t.duration));
        }
        bad.sort_by_key(|b| b.0);
        bad.dedup_by_key(|b| b.0);
        Ok(bad)
    }
}

/// Follows a file's bytes piece by piece.
pub struct Inspector {
    reader: Reader,
    pieces: Vec<Option<Piece>>,
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
        Inspector { reader, pieces: Vec::new() }
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
        let piece = match &mut self.reader {
            Reader::Ts(r) => r.end_piece(),
            Reader::Mp4(r) => r.end_piece(),
        }
        .map_err(|why| self.in_piece(why))?;
        self.pieces.push(piece);
        Ok(())
    }

    /// What the pieces held, their times as stamped in the file.
    pub fn finish(self) -> Result<Inspection, String> {
        let video = match &self.reader {
            Reader::Ts(r) => r.video(),
            Reader::Mp4(r) => r.video(),
        }?;
        Ok(Inspection { video, pieces: self.pieces })
    }

    fn in_piece(&self, why: String) -> String {
        format!("piece {}: {why}", self.pieces.len())
    }
}
