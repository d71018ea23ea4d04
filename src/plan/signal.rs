//! What the master playlist announces for a plan: CODECS (with the levels the encoders are
//! told or pick) and BANDWIDTH.

use super::{EncodePlan, Profile};
use crate::config::{Backend, Codec};

/// The HEVC level (general_level_idc, 30 x level) an encoder picks for a picture size and frame
/// rate: the lowest whose luma picture size, luma sample rate and dimension limits (H.265
/// Table A.8) hold it. x265 picks it this way and cannot be told a level without turning on VBV
/// (and refusing sizes over it), so the master playlist announces what it will pick.
pub fn hevc_level(width: u32, height: u32, fps: f64) -> u32 {
    const LEVELS: &[(u32, f64, f64)] = &[
        (30, 36_864.0, 552_960.0),
        (60, 122_880.0, 3_686_400.0),
        (63, 245_760.0, 7_372_800.0),
        (90, 552_960.0, 16_588_800.0),
        (93, 983_040.0, 33_177_600.0),
        (120, 2_228_224.0, 66_846_720.0),
        (123, 2_228_224.0, 133_693_440.0),
        (150, 8_912_896.0, 267_386_880.0),
        (153, 8_912_896.0, 534_773_760.0),
        (156, 8_912_896.0, 1_069_547_520.0),
        (180, 35_651_584.0, 1_069_547_520.0),
        (183, 35_651_584.0, 2_139_095_040.0),
        (186, 35_651_584.0, 4_278_190_080.0),
    ];
    let samples = width as f64 * height as f64;
    LEVELS
        .iter()
        .find(|&&(_, max_ps, max_sr)| {
            let max_side = (max_ps * 8.0).sqrt();
            samples <= max_ps && samples * fps <= max_sr && (width as f64) <= max_side && (height as f64) <= max_side
        })
        .map_or(186, |l| l.0)
}

/// H.264 level for an output height, as the `-level` value and the RFC 6381 level byte: the
/// encoder is told the level the master playlist announces, so CODECS matches the stream.
pub(crate) fn h264_level(height: u32) -> (&'static str, &'static str) {
    match height {
        0..=1088 => ("4.0", "28"),
        1089..=1440 => ("5.0", "32"),
        _ => ("5.1", "33"),
    }
}

impl EncodePlan {
    /// RFC 6381 codec string for `EXT-X-STREAM-INF:CODECS`.
    pub fn codecs(&self) -> String {
        let Profile { codec, height, .. } = self.profile;
        let video = match (codec, self.copied()) {
            (_, Some(copy)) => copy.codecs.clone(),
            // x264's ultrafast gives up CABAC and 8x8 transforms: the stream is then
            // Constrained Baseline (profile 66, constraint flags 0 and 1), whatever -profile says.
            (Codec::H264, _)
                if matches!(self.backend, Backend::Cpu | Backend::Auto) && self.preset() == "ultrafast" =>
            {
                format!("avc1.42c0{}", h264_level(height).1)
            }
            (Codec::H264, _) => format!("avc1.6400{}", h264_level(height).1),
            (Codec::Hevc, _) => {
                let profile = if self.ten_bit() { "2.4" } else { "1.6" };
                let level = hevc_level(self.profile.width, height, self.media.fps);
                format!("hvc1.{profile}.L{level}.90")
            }
        };
        match self.audio {
            Some(_) => format!("{video},mp4a.40.2"),
            None => video,
        }
    }

    /// What this output typically takes at the configured quality: 0.12 bits a pixel.
    pub(crate) fn typical_video_bitrate(&self) -> u64 {
        let pixels = self.profile.width as f64 * self.profile.height as f64 * self.media.fps.min(60.0);
        ((pixels * 0.12) as u64).max(64_000)
    }

    /// The peak bitrate for `BANDWIDTH`, in bits per second. A capped rung's segments stay
    /// under twice its cap even for the one-second first segment (the buffer holds one second
    /// more); the uncapped upscale gets the typical rate, scaled for presets that compress
    /// less. Audio: what a copy of the source's AAC or our re-encode may take.
    pub fn bandwidth(&self) -> u64 {
        let video = match (self.bitrate_cap, self.copied()) {
            (_, Some(copy)) => copy.peak_bitrate,
            (Some(cap), _) => 2 * cap,
            (None, _) => {
                let factor = match self.preset() {
                    "ultrafast" => 2.5,
                    "superfast" => 1.6,
                    _ => 1.0,
                };
                (self.typical_video_bitrate() as f64 * factor) as u64
            }
        };
        let audio = self.audio.as_ref().map_or(0, |a| {
            if a.copyable() {
                384_000
            } else {
                (64_000 * a.channels as u64).min(384_000)
            }
        });
        video + audio
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::display_args;
    use crate::plan::fixtures::plan;
    use std::path::Path;

    #[test]
    fn hevc_level_is_the_lowest_that_holds_size_and_rate() {
        assert_eq!(hevc_level(640, 360, 24.0), 63);
        assert_eq!(hevc_level(1280, 720, 24.0), 93);
        assert_eq!(hevc_level(1920, 1080, 24.0), 120);
        assert_eq!(hevc_level(1920, 1080, 60.0), 123);
        assert_eq!(hevc_level(3840, 2160, 24.0), 150);
        assert_eq!(hevc_level(3840, 2160, 60.0), 153);
        assert_eq!(hevc_level(8, 4000, 1.0), 120, "a very tall picture needs a larger level");
    }

    #[test]
    fn h264_level_in_the_argv_is_the_one_codecs_announces() {
        for (height, level, codecs) in
            [(360, "4.0", "avc1.640028"), (1440, "5.0", "avc1.640032"), (2160, "5.1", "avc1.640033")]
        {
            let mut p = plan(Backend::Cpu, Codec::H264, 8);
            p.profile.height = height;
            let line = display_args(Path::new("ffmpeg"), &p.encode_args(0, None, None));
            assert!(line.contains(&format!("-level:v {level} ")), "{line}");
            assert!(p.codecs().starts_with(codecs));
        }
    }
}
