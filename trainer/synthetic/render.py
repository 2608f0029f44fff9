"""Waveform synthesis for one attribute combination (vectorised numpy, no torch).

`render_clip(combo, rng, duration_s=..., sample_rate=...)` returns mono float32 samples in [-1, 1] and the
continuous parameters it drew. A clip is `gain * envelope(pattern) * carrier(type, pitch) + noise floor`:

- the carrier has unit RMS, and the envelope peaks at 1, so while the sound is "on" its RMS is the loudness
  target: quiet -34 dBFS, moderate -22 dBFS, loud -12 dBFS, each +-2 dB. Loud clips whose peak would pass
  0.98 (Gaussian noise, clicks) are scaled down to that peak; they stay well above "moderate".
- tones are band-limited additive syntheses (harmonics below 0.49*sample_rate, at most 25), so no aliased
  component can fall outside the named pitch band; at the top band a square or triangle tone keeps only
  its 3rd harmonic at 16 kHz.
- a -70 dBFS white noise floor makes "silent" stretches not digitally silent.
"""

from __future__ import annotations

import numpy as np

from .attributes import PITCH_BANDS_HZ, Combo

__all__ = ["LOUDNESS_DBFS", "render_clip"]

LOUDNESS_DBFS: dict[str, float] = {"quiet": -34.0, "moderate": -22.0, "loud": -12.0}
_LOUDNESS_JITTER_DB = 2.0
_NOISE_FLOOR_DBFS = -70.0
_PEAK_LIMIT = 0.98
_MAX_HARMONICS = 25
_EDGE_S = 0.01  # onset/offset ramps, so gating never produces clicks the caption does not mention


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _harmonic_tone(kind: str, f0: float, t: np.ndarray, phase: float, sr: int) -> np.ndarray:
    """Sum of sin(k*x) with the waveform's Fourier amplitudes, via the Chebyshev recurrence
    sin((k+1)x) = 2cos(x)sin(kx) - sin((k-1)x), so k harmonics cost k multiply-adds, not k sines."""
    x = 2.0 * np.pi * f0 * t + phase
    if kind == "sine tone":
        return np.sin(x)
    k_max = min(_MAX_HARMONICS, int(0.49 * sr / f0))
    s_prev, s_k = np.zeros_like(x), np.sin(x)
    two_cos = 2.0 * np.cos(x)
    out = s_k.copy()
    for k in range(2, k_max + 1):
        s_next = two_cos * s_k
        s_next -= s_prev
        s_prev, s_k = s_k, s_next
        if kind == "sawtooth tone":
            out += s_k / k
        elif k % 2:  # square: odd harmonics 1/k; triangle: odd harmonics 1/k^2 with alternating sign
            out += s_k * (1.0 / k if kind == "square tone" else (-1.0) ** ((k - 1) // 2) / (k * k))
    return out


def _shaped_noise(rng: np.random.Generator, n: int, sr: int, gain_fn) -> np.ndarray:
    """Gaussian noise shaped in the frequency domain by `gain_fn(freqs_hz)`; FFT size a power of two."""
    n_fft = 1 << max(1, (n - 1).bit_length())
    spec = np.fft.rfft(rng.standard_normal(n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    return np.fft.irfft(spec * gain_fn(freqs), n_fft)[:n]


def _carrier(combo: Combo, rng: np.random.Generator, n: int, sr: int) -> tuple[np.ndarray, float | None]:
    t = np.arange(n) / sr
    kind = combo.sound_type
    freq = _loguniform(rng, *PITCH_BANDS_HZ[combo.pitch]) if combo.pitch is not None else None
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    if kind.endswith(" tone"):
        assert freq is not None
        x = _harmonic_tone(kind, freq, t, phase, sr)
    elif kind.endswith(" chirp"):
        assert freq is not None
        half_span = float(rng.uniform(0.3, 0.5))  # octaves each side of the centre
        f_a, f_b = freq * 2.0**-half_span, freq * 2.0**half_span
        if kind == "falling chirp":
            f_a, f_b = f_b, f_a
        dur = n / sr
        ratio = f_b / f_a  # exponential sweep: f(t) = f_a * ratio**(t/dur)
        x = np.sin(phase + 2.0 * np.pi * f_a * dur / np.log(ratio) * (ratio ** (t / dur) - 1.0))
    elif kind == "click train":
        assert freq is not None
        rate = float(rng.uniform(5.0, 10.0))
        tau = max(3.0 / freq, 0.005)  # ring for a few cycles, at least 5 ms, so clicks are not bare spikes
        k_len = min(n, int(5 * tau * sr))
        kt = np.arange(k_len) / sr
        kernel = np.sin(2.0 * np.pi * freq * kt) * np.exp(-kt / tau)
        x = np.zeros(n)
        period = sr / rate
        start = float(rng.uniform(0.0, period))
        jitter = rng.uniform(-0.05, 0.05, size=int(n / period) + 2) * period
        for i, j in enumerate(jitter):
            pos = int(start + i * period + j)
            if 0 <= pos < n:
                m = min(k_len, n - pos)
                x[pos : pos + m] += kernel[:m]
    elif kind == "band-pass noise":
        assert freq is not None
        centre = freq
        x = _shaped_noise(
            rng, n, sr, lambda f: np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / centre) / (1 / 6)) ** 2)
        )
    elif kind == "white noise":
        x = rng.standard_normal(n)
    else:  # pink (power ~ 1/f) or brown (power ~ 1/f^2), both cut below 20 Hz to avoid DC drift
        power = 0.5 if kind == "pink noise" else 1.0
        x = _shaped_noise(rng, n, sr, lambda f: np.where(f >= 20.0, np.maximum(f, 20.0) ** -power, 0.0))
    rms = float(np.sqrt(np.mean(x * x)))
    return x / max(rms, 1e-12), freq


def _envelope(pattern: str, rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    dur = n / sr
    edge = _EDGE_S
    ramps = np.clip(np.minimum(t / edge, (dur - t) / edge), 0.0, 1.0)
    if pattern == "steady":
        return ramps
    if pattern == "pulsing":  # at least 3.5 pulses per second, the first starting at t=0
        rate, duty = float(rng.uniform(3.5, 6.0)), float(rng.uniform(0.4, 0.6))
        frac = (t * rate) % 1.0
        ramp = edge * rate
        return np.clip(np.minimum(frac / ramp, (duty - frac) / ramp), 0.0, 1.0) * ramps
    if pattern in ("fading in", "fading out", "swelling"):
        gamma = float(rng.uniform(1.0, 2.0))
        u = t / dur
        shape = {"fading in": u, "fading out": 1.0 - u, "swelling": np.sin(np.pi * u)}[pattern]
        return np.asarray(shape**gamma, dtype=np.float64) * ramps
    if pattern == "two bursts":
        burst, gap = float(rng.uniform(0.25, 0.35)) * dur, float(rng.uniform(0.1, 0.25)) * dur
        slack = dur - (2 * burst + gap) - 0.04 * dur
        s0 = 0.02 * dur + float(rng.uniform(0.0, max(slack, 0.0)))
        env = np.zeros(n)
        for a in (s0, s0 + burst + gap):
            env = np.maximum(env, np.clip(np.minimum((t - a) / edge, (a + burst - t) / edge), 0.0, 1.0))
        return env
    raise ValueError(f"unknown pattern {pattern!r}")


def render_clip(
    combo: Combo, rng: np.random.Generator, *, duration_s: float, sample_rate: int
) -> tuple[np.ndarray, dict[str, float | None]]:
    """Synthesise one clip.

    Returns:
        (samples, params): samples float32 of shape (round(duration_s*sample_rate),) in [-1, 1];
        params has `frequency_hz` (None for unpitched noise), `level_dbfs` (RMS while on) and `duration_s`.
    Raises:
        ValueError: if the clip would be shorter than 0.1 s or the sample rate is below 8000 Hz.
    """
    if sample_rate < 8000:
        raise ValueError(f"sample_rate {sample_rate} is too low for the top pitch band; use >= 8000 (16000)")
    n = round(duration_s * sample_rate)
    if n < 0.1 * sample_rate:
        raise ValueError(f"duration_s {duration_s} is too short; use at least 0.1 s")
    carrier, freq = _carrier(combo, rng, n, sample_rate)
    env = _envelope(combo.pattern, rng, n, sample_rate)
    level = LOUDNESS_DBFS[combo.loudness] + float(rng.uniform(-_LOUDNESS_JITTER_DB, _LOUDNESS_JITTER_DB))
    x = 10.0 ** (level / 20.0) * env * carrier
    x += 10.0 ** (_NOISE_FLOOR_DBFS / 20.0) * rng.standard_normal(n)
    peak = float(np.max(np.abs(x)))
    if peak > _PEAK_LIMIT:
        x *= _PEAK_LIMIT / peak
    params: dict[str, float | None] = {
        "frequency_hz": None if freq is None else round(freq, 2),
        "level_dbfs": round(level, 2),
        "duration_s": round(n / sample_rate, 4),
    }
    return x.astype(np.float32), params
