//! The cheaper variants of a plan (the lower target and the fallback) and its faster presets:
//! the steps the real-time guard can take.

use super::{target_size, EncodePlan, Profile};
use crate::config::Backend;
use crate::timeline::Container;

impl EncodePlan {
    /// The backend's presets, fastest first, and the index of the configured one: the steps
    /// a plan can go faster.
    fn preset_ladder(&self) -> (&'static [&'static str], u32) {
        match self.backend {
            Backend::Cpu | Backend::Auto => {
                let at = crate::config::PRESETS.iter().position(|p| *p == self.cpu_preset).unwrap_or(0);
                (crate::config::PRESETS, at as u32)
            }
            Backend::Nvenc => (&["p1", "p3", "p5"], 2),
            Backend::Qsv => (&["veryfast", "fast", "medium"], 2),
            // VAAPI has no speed preset: its only lever is the cheaper variants.
            Backend::Vaapi => (&[""], 0),
        }
    }

    /// The encoder preset this plan runs with (empty for VAAPI, which has none; `copy` for a
    /// copy).
    pub fn preset(&self) -> &'static str {
        if self.stream_copy {
            return "copy";
        }
        let (ladder, configured) = self.preset_ladder();
        ladder[(configured - self.speed_step.min(configured)) as usize]
    }

    /// The same plan one preset faster, if the backend has a faster one. Never for fMP4
    /// (HEVC): every segment is played behind the job's one init section, and a faster preset
    /// writes other parameter sets (x265's ultrafast: 32-pixel CTUs), so its segments would
    /// decode as garbage; a slow HEVC encoder adapts with the cheaper rungs instead.
    pub fn faster(&self) -> Option<EncodePlan> {
        (self.container() == Container::Ts && self.speed_step < self.preset_ladder().1)
            .then(|| EncodePlan { speed_step: self.speed_step + 1, ..self.clone() })
    }

    /// A cheaper rung of this plan's ladder: the fastest preset, and capped so that its
    /// BANDWIDTH bounds its segments.
    fn into_rung(mut self) -> EncodePlan {
        self.speed_step = self.preset_ladder().1;
        self.bitrate_cap = Some(self.typical_video_bitrate());
        self
    }

    /// The middle rung of the ladder: the same upscale to two thirds of the target height
    /// (1440p for 2160p) with the fastest preset, when that is still larger than the source.
    pub fn lower_target(&self) -> Option<EncodePlan> {
        let height = (self.profile.height * 2 / 3) & !1;
        let (width, height) = target_size(self.media.display_width(), self.media.height, 8, height).ok()?;
        Some(EncodePlan { profile: Profile { width, height, ..self.profile }, ..self.clone() }.into_rung())
    }

    /// The cheap variant viewers fall back to when the upscale cannot keep up: the same
    /// timeline and segment boundaries at the source's size. A copy of the source's video when
    /// it has one (nothing is encoded); otherwise the fastest preset and no shader, always on the
    /// CPU: it must work whatever the GPU does, and must not take one of the GPU's few encoder
    /// sessions (NVENC allows 8 at once).
    pub fn fallback(&self) -> EncodePlan {
        // Square pixels at the source's height, as the upscale has.
        let width = super::even_width(self.media.display_width());
        let profile = Profile { width, height: (self.media.height & !1).max(2), ..self.profile };
        let plan = EncodePlan { profile, shader: None, backend: Backend::Cpu, ..self.clone() };
        if self.source_copy.is_some() {
            let profile = Profile { width: self.media.width, height: self.media.height, bit_depth: 8, ..profile };
            return EncodePlan { profile, stream_copy: true, ..plan };
        }
        plan.into_rung()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Backend, Codec};
    use crate::plan::fixtures::plan;
    use crate::plan::{display_args, Profile};
    use std::path::Path;

    #[test]
    fn faster_steps_walk_the_preset_ladder_and_stop() {
        let p = plan(Backend::Cpu, Codec::H264, 8);
        assert_eq!(p.preset(), "veryfast");
        let names: Vec<String> =
            std::iter::successors(Some(p), |p| p.faster()).map(|p| p.preset().to_owned()).collect();
        assert_eq!(names, ["veryfast", "superfast", "ultrafast"]);
        let nvenc: Vec<String> = std::iter::successors(Some(plan(Backend::Nvenc, Codec::H264, 8)), |p| p.faster())
            .map(|p| p.preset().to_owned())
            .collect();
        assert_eq!(nvenc, ["p5", "p3", "p1"]);
        // HEVC's segments share one init section: its preset never changes.
        assert!(plan(Backend::Cpu, Codec::Hevc, 8).faster().is_none());
        assert!(plan(Backend::Nvenc, Codec::Hevc, 8).faster().is_none());
        assert!(plan(Backend::Vaapi, Codec::H264, 8).faster().is_none());
    }

    #[test]
    fn fallback_keeps_the_timeline_at_the_source_size() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        p.shader = Some("/s.glsl".into());
        let f = p.fallback();
        assert_eq!((f.profile.width, f.profile.height), (320, 180));
        assert_eq!(f.timeline, p.timeline);
        assert_eq!(f.preset(), "ultrafast");
        assert!(f.shader.is_none());
        let line = display_args(Path::new("ffmpeg"), &f.encode_args(0, None, None));
        assert!(line.contains("scale=320:180:flags=lanczos"), "{line}");
        assert!(line.contains("-maxrate 165888 -bufsize 165888"), "capped at 0.12 bit a pixel: {line}");
        assert_eq!(f.bandwidth(), 2 * 165_888 + 384_000, "twice the cap, and copied AAC's allowance");
        let gpu = display_args(
            Path::new("ffmpeg"),
            &plan(Backend::Nvenc, Codec::H264, 8).fallback().encode_args(0, None, None),
        );
        assert!(gpu.contains("-c:v libx264 -preset ultrafast") && !gpu.contains("cuda"), "{gpu}");
        assert!(f.bandwidth() < p.bandwidth());
        assert_eq!(f.codecs(), "avc1.42c028,mp4a.40.2", "ultrafast is Constrained Baseline");
    }

    /// A plan whose timeline is cut at keyframes 0, 1.5, 5, 8.5, 12.5 and 16.25, with a source
    /// to copy.
    #[test]
    fn lower_target_is_two_thirds_of_the_target_and_only_when_still_an_upscale() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        let lower = p.lower_target().unwrap();
        assert_eq!((lower.profile.width, lower.profile.height), (426, 240));
        assert_eq!((lower.preset(), &lower.timeline), ("ultrafast", &p.timeline));
        p.media.height = 1080;
        p.media.width = 1920;
        p.profile = Profile { width: 3840, height: 2160, ..p.profile };
        assert_eq!(p.lower_target().map(|l| (l.profile.width, l.profile.height)), Some((2560, 1440)));
        p.profile = Profile { width: 2400, height: 1350, ..p.profile };
        assert!(p.lower_target().is_none(), "900p would not be an upscale of 1080p");
    }
}
