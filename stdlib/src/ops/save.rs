//! `save NAME [replace=true]`: keeps the incoming rows in the job store as
//! the baseline NAME, for `saved NAME` and `drift from NAME` later, and
//! passes them on unchanged.

use polars::prelude::DataFrame;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::{Args, Error, Kind, Param, Result, Signature, Span};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;

pub struct Save;

static SIGNATURE: Signature = Signature {
    name: "save",
    aliases: &[],
    summary: "Keeps the rows in the job store as a named baseline (for `saved NAME` and `drift from NAME`) and passes them on.",
    help: "A name of letters, digits, `-`, `_` and `.`. Saving over an existing baseline is refused unless `replace=true` or `--force` is given, so that no baseline is lost by accident. Baselines are kept until deleted by hand: retention only removes jobs.",
    params: &[Param::arg("name", Kind::Words, "NAME").example("before-upgrade")],
    options: &[Param::option("replace", Kind::Choice(&["true", "false"]), "true")
        .default("false")
        .doc("replace=true saves over a baseline of the same name")],
    takes_as: false,
    data_columns: false,
};

impl Operator for Save {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "Each host's app version, kept as a baseline before an upgrade",
            query: "hosts @web | run \"cat /etc/app/version\" as version | select host, version | save before-upgrade",
            output: "\
host   version
web01  2.1.0
web02  2.1.0
web03  2.0.9
",
        }]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let name: Value = args.require("name")?;
        let replace: String = args.require("replace")?;
        Ok(Op::new(SaveOp {
            name: baseline_name(&name)?,
            replace: replace == "true",
            span: args.span,
        }))
    }
}

/// A baseline name as `saved NAME` can read it back.
pub(super) fn baseline_name(name: &Value) -> Result<String> {
    let Value { text, span, .. } = name;
    let valid = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(text.clone())
    } else {
        Err(Error::new(format!("`{text}` is not a baseline name"), *span)
            .with_hint("use letters, digits, `-`, `_` and `.`, for example: before-upgrade"))
    }
}

/// `save`: the baseline's name, and whether it may replace one.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "save")]
pub(crate) struct SaveOp {
    name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    replace: bool,
    #[serde(skip)]
    span: Span,
}

impl Stage for SaveOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        ctx.history
            .save(&self.name, &input, self.replace, self.span)?;
        Ok(input)
    }
}
