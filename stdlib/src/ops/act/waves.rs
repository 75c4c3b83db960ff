//! `act`'s waves: the `batch=` list (counts and percentages of the
//! selected hosts, the last repeating until every host is done) and the
//! `max_fail=` limit, parsed with errors that point at the value.

use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::{Error, Result, Span};

/// One wave size: a count of hosts, or a share of the selected hosts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Size {
    Hosts(u64),
    Percent(f64),
}

impl Size {
    /// `5` or `25%`; `what` names the option in errors.
    fn parse(text: &str, span: Span, what: &str, zero_ok: bool) -> Result<Size> {
        let bad = |why: &str| {
            let example = if what == "batch" { "batch=1,5,25%" } else { "max_fail=2 or max_fail=10%" };
            Error::new(format!("`{what}={text}`: {why}"), span)
                .with_hint(format!("write a count of hosts or a percentage, for example: {example}"))
        };
        match text.strip_suffix('%') {
            Some(pct) => match pct.parse::<f64>() {
                Ok(p) if p > 100.0 => Err(bad("a percentage is at most 100%")),
                Ok(p) if p > 0.0 || (zero_ok && p == 0.0) => Ok(Size::Percent(p)),
                Ok(_) => Err(bad("a percentage must be more than 0%")),
                Err(_) => Err(bad("not a percentage")),
            },
            None => match text.parse::<u64>() {
                Ok(0) if !zero_ok => Err(bad("a wave needs at least one host")),
                Ok(n) => Ok(Size::Hosts(n)),
                Err(_) if text.starts_with('-') => Err(bad("it cannot be negative")),
                Err(_) => Err(bad("not a count of hosts")),
            },
        }
    }

    /// How many of `total` hosts this is: a percentage rounds up, so that
    /// it is never zero hosts.
    fn of(self, total: usize) -> usize {
        match self {
            Size::Hosts(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Size::Percent(p) => ((p / 100.0) * total as f64).ceil() as usize,
        }
    }
}

/// The wave sizes `batch=` gives; the default is a canary of one host,
/// then waves of 10%.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Batch(Vec<Size>);

impl Default for Batch {
    fn default() -> Self {
        Batch(vec![Size::Hosts(1), Size::Percent(10.0)])
    }
}

impl Batch {
    pub(super) fn parse(value: &Value) -> Result<Batch> {
        let sizes = value
            .text
            .split(',')
            .map(|item| Size::parse(item.trim(), value.span, "batch", false))
            .collect::<Result<Vec<_>>>()?;
        Ok(Batch(sizes))
    }

    /// The size of each wave for `total` hosts, adding up to `total`.
    pub(super) fn sizes(&self, total: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = total;
        let mut list = self.0.iter();
        let mut size = self.0[0];
        while left > 0 {
            size = list.next().copied().unwrap_or(size);
            let wave = size.of(total).clamp(1, left);
            sizes.push(wave);
            left -= wave;
        }
        sizes
    }
}

/// `max_fail=N` or `max_fail=P%` of the selected hosts; default 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(super) struct MaxFail(Size);

impl Default for MaxFail {
    fn default() -> Self {
        MaxFail(Size::Hosts(0))
    }
}

impl MaxFail {
    pub(super) fn parse(value: &Value) -> Result<MaxFail> {
        Size::parse(value.text.trim(), value.span, "max_fail", true).map(MaxFail)
    }

    /// How many of `total` hosts may fail before no further wave starts.
    pub(super) fn allowed(self, total: usize) -> usize {
        match self.0 {
            Size::Percent(p) => ((p / 100.0) * total as f64).floor() as usize,
            hosts => hosts.of(total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        Value {
            kind: shoal_lang::ast::ValueKind::Word,
            text: text.into(),
            span: Span::default(),
            escapes: Vec::new(),
        }
    }

    /// The default waves, and a given list, for fleets of 1, 7, 200 and
    /// 1,000 hosts.
    #[test]
    fn wave_sizes_match_the_table() {
        let default = Batch::default();
        let listed = Batch::parse(&value("1,5,25%")).unwrap();
        let table: &[(&Batch, usize, &[usize])] = &[
            (&default, 1, &[1]),
            (&default, 7, &[1, 1, 1, 1, 1, 1, 1]),
            (&default, 200, &[1, 20, 20, 20, 20, 20, 20, 20, 20, 20, 19]),
            (&default, 1000, &[1, 100, 100, 100, 100, 100, 100, 100, 100, 100, 99]),
            (&listed, 1, &[1]),
            (&listed, 7, &[1, 5, 1]),
            (&listed, 200, &[1, 5, 50, 50, 50, 44]),
            (&listed, 1000, &[1, 5, 250, 250, 250, 244]),
        ];
        for (batch, hosts, sizes) in table {
            assert_eq!(&batch.sizes(*hosts), sizes, "{batch:?} on {hosts}");
            assert_eq!(batch.sizes(*hosts).iter().sum::<usize>(), *hosts);
        }
    }

    #[test]
    fn bad_batches_and_limits_are_refused() {
        for bad in ["0", "150%", "1,x", "0%", "-1", "1,,2"] {
            assert!(Batch::parse(&value(bad)).is_err(), "{bad}");
        }
        assert!(MaxFail::parse(&value("-1")).is_err());
        assert_eq!(MaxFail::parse(&value("2")).unwrap().allowed(10), 2);
        assert_eq!(MaxFail::parse(&value("25%")).unwrap().allowed(10), 2);
        assert_eq!(MaxFail::default().allowed(10), 0);
    }
}
