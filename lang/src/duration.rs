//! Durations as users write them: `200ms`, `5s`, `1.5s`, `2m`, `1h`.
//!
//! One parser serves the language (`run ... timeout=5s`), the inventory file
//! (`connect_timeout = "10s"`) and the command line (`--timeout 5s`), so the
//! three can never disagree about what a duration is.

use std::time::Duration;

/// The units shoal accepts, longest suffix first so `ms` wins over `m`.
const UNITS: [(&str, f64); 4] = [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];

/// Parses `<number><unit>`. The error is a sentence fit for a hint.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let Some((number, seconds_per_unit)) = UNITS
        .iter()
        .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n, *scale)))
    else {
        return Err(format!(
            "`{text}` has no unit: write it as 200ms, 5s, 2m or 1h"
        ));
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0 && !number.starts_with(['+', '-']))
        .ok_or_else(|| format!("`{text}` is not a duration: write it as 200ms, 5s, 2m or 1h"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("`{text}` is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_unit() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn rejects_missing_unit_and_garbage() {
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("xs").unwrap_err().contains("not a duration"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e300h").is_err());
    }
}
