use super::*;

fn op(families: &[&str], max_bytes: u64) -> FactsOp {
    FactsOp {
        families: families.iter().map(|f| f.to_string()).collect(),
        etc: vec!["/etc/app".into()],
        max_bytes,
        timeout_ms: 2000,
        span: Span::default(),
    }
}

fn all() -> Vec<&'static str> {
    FAMILIES.iter().map(|f| f.name).collect()
}

#[test]
fn print_the_command() {
    println!("{}", op(&all(), DEFAULT_MAX_BYTES).command());
}
