//! Text captured from hosts turned into typed columns: numbers become
//! numbers, and names found in output (headers, keys) become column names.

use polars::prelude::*;

/// A column from captured text: Int64 when every present value is a whole
/// number, Float64 when every present value is a number, text otherwise.
/// All-null stays text, so a later `filter COL = x` still works.
pub fn typed_column(name: &str, values: Vec<Option<String>>) -> Column {
    let present = || values.iter().flatten().map(|v| v.trim());
    let any = present().next().is_some();
    if any && present().all(|v| v.parse::<i64>().is_ok()) {
        let ints: Vec<Option<i64>> = values
            .iter()
            .map(|v| v.as_deref().and_then(|v| v.trim().parse().ok()))
            .collect();
        return Column::new(name.into(), ints);
    }
    if any && present().all(|v| parse_float(v).is_some()) {
        let floats: Vec<Option<f64>> = values
            .iter()
            .map(|v| v.as_deref().and_then(|v| parse_float(v.trim())))
            .collect();
        return Column::new(name.into(), floats);
    }
    Column::new(name.into(), values)
}

/// A finite decimal number; `inf`, `NaN` and the like stay text.
fn parse_float(text: &str) -> Option<f64> {
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
    text.parse::<f64>()
        .ok()
        .filter(|n| looks_numeric && n.is_finite())
}

/// A name from output made usable as a column: lower case, `%` as `pct`,
/// anything else that is not a letter or digit as `_`, never empty and never
/// starting with a digit. `Use%` is `use_pct`, `Mounted on` is `mounted_on`.
pub fn column_name(raw: &str) -> String {
    let mut name = String::with_capacity(raw.len());
    for c in raw.trim().chars() {
        match c {
            '%' => name.push_str(if name.is_empty() { "pct_" } else { "_pct" }),
            c if c.is_ascii_alphanumeric() => name.push(c.to_ascii_lowercase()),
            _ => name.push('_'),
        }
    }
    let mut collapsed = String::with_capacity(name.len());
    for c in name.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    let trimmed = collapsed.trim_matches('_');
    match trimmed.chars().next() {
        None => "field".to_string(),
        Some(c) if c.is_ascii_digit() => format!("_{trimmed}"),
        Some(_) => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_floats_and_text_are_told_apart() {
        let col =
            |v: &[Option<&str>]| typed_column("x", v.iter().map(|s| s.map(String::from)).collect());
        assert_eq!(
            col(&[Some("3"), None, Some(" 42 ")]).dtype(),
            &DataType::Int64
        );
        assert_eq!(col(&[Some("3"), Some("0.5")]).dtype(), &DataType::Float64);
        assert_eq!(col(&[Some("3"), Some("inf")]).dtype(), &DataType::String);
        assert_eq!(col(&[Some("2.1.0")]).dtype(), &DataType::String);
        assert_eq!(col(&[None, None]).dtype(), &DataType::String);
    }

    #[test]
    fn output_names_become_column_names() {
        assert_eq!(column_name("Use%"), "use_pct");
        assert_eq!(column_name("Mounted on"), "mounted_on");
        assert_eq!(column_name("%CPU"), "pct_cpu");
        assert_eq!(column_name("1024-blocks"), "_1024_blocks");
        assert_eq!(column_name("--"), "field");
    }
}
