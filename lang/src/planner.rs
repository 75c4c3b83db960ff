//! AST to Plan: resolves each statement's source, and each stage through
//! the stage catalog: its signature checks the stage's text (`bind.rs`) and
//! the stage turns the checked arguments into its typed operator.

use crate::ast::{self, SetOperand, SourceKind};
use crate::bind::{self, Args};
use crate::check::compile_regex;
use crate::error::{Error, Result};
use crate::plan::{Plan, PlanSource, PlannedStatement, SelectTerm, TermKind};
use crate::signature::Signature;
use crate::span::Span;

/// The stages a planner knows: shoal-stdlib's registry, or a test's own.
pub trait Catalog {
    /// The typed operator a stage plans to.
    type Op;
    /// Every stage, in the order `help` lists them.
    fn signatures(&self) -> Vec<&'static Signature>;
    /// Turns checked arguments into the operator of the stage `signature`
    /// (one of [`Catalog::signatures`]) declares.
    fn build(&self, signature: &'static Signature, args: Args) -> Result<Self::Op>;
}

/// Checks the AST and turns it into a Plan, with stages from `catalog`.
pub fn plan<C: Catalog>(program: &ast::Program, catalog: &C) -> Result<Plan<C::Op>> {
    let signatures = catalog.signatures();
    let statements = program
        .statements
        .iter()
        .map(|statement| plan_statement(statement, catalog, &signatures))
        .collect::<Result<_>>()?;
    Ok(Plan { statements })
}

fn plan_statement<C: Catalog>(
    statement: &ast::Statement,
    catalog: &C,
    signatures: &[&'static Signature],
) -> Result<PlannedStatement<C::Op>> {
    let pipeline = statement.pipeline();
    let bind = match statement {
        ast::Statement::Let { name, .. } => Some(name.name.clone()),
        ast::Statement::Pipeline(_) => None,
    };
    Ok(PlannedStatement {
        bind,
        // Filled in by `compile`, which has the source text.
        text: String::new(),
        source: plan_source(&pipeline.source)?,
        ops: pipeline
            .stages
            .iter()
            .map(|stage| {
                let signature = find_stage(&stage.name, signatures)?;
                catalog.build(signature, bind::bind(stage, signature)?)
            })
            .collect::<Result<_>>()?,
    })
}

/// The stage a name (or alias) stands for.
fn find_stage(name: &ast::Ident, signatures: &[&'static Signature]) -> Result<&'static Signature> {
    let word = name.name.as_str();
    if let Some(found) = signatures.iter().find(|s| s.names().any(|n| n == word)) {
        return Ok(found);
    }
    let error = Error::new(format!("unknown stage `{word}`"), name.span);
    let names = || signatures.iter().flat_map(|s| s.names());
    let lower = word.to_lowercase();
    if lower != word && names().any(|n| n == lower) {
        return Err(error.with_hint(format!("stage names are lower-case: '{lower}'")));
    }
    Err(match crate::did_you_mean(word, names()) {
        Some(known) => error.with_hint(format!("did you mean '{known}'?")),
        None => {
            error.with_hint("`shoal help` lists every stage, for example filter, run and count")
        }
    })
}

fn plan_source(source: &ast::Source) -> Result<PlanSource> {
    Ok(match &source.kind {
        SourceKind::AllHosts => PlanSource::AllHosts,
        SourceKind::NodeSet { name: pattern } => {
            // The span of the nodeset itself: the source minus `hosts `.
            let span = Span::new(source.span.end - pattern.len(), source.span.end);
            check_nodeset(pattern, span)?;
            PlanSource::NodeSet {
                pattern: pattern.clone(),
                span,
            }
        }
        SourceKind::Group { name } => PlanSource::Group {
            name: name.clone(),
            span: source.span,
        },
        SourceKind::Variable { name } => PlanSource::Variable {
            name: name.clone(),
            span: source.span,
        },
        SourceKind::Select { terms } => PlanSource::Select {
            terms: terms.iter().map(plan_term).collect::<Result<_>>()?,
            span: terms
                .iter()
                .map(|t| t.span)
                .reduce(Span::join)
                .unwrap_or(source.span),
        },
        SourceKind::From { name } => plan_host_list(name, source.span)?,
        SourceKind::Jobs => PlanSource::Jobs { span: source.span },
        SourceKind::Job { which } => PlanSource::Job {
            which: *which,
            span: source.span,
        },
        SourceKind::Saved { name } => PlanSource::Saved {
            name: name.clone(),
            span: source.span,
        },
        SourceKind::Checks => PlanSource::Checks,
    })
}

fn plan_term(term: &ast::SetTerm) -> Result<SelectTerm> {
    let kind = match &term.operand {
        SetOperand::Group { name } => TermKind::Group { name: name.clone() },
        SetOperand::NodeSet { pattern } => {
            check_nodeset(pattern, term.span)?;
            TermKind::NodeSet {
                pattern: pattern.clone(),
            }
        }
        SetOperand::Regex { regex } => {
            compile_regex(regex)?;
            TermKind::Regex {
                pattern: regex.text.clone(),
            }
        }
    };
    Ok(SelectTerm {
        op: term.op,
        kind,
        span: term.span,
    })
}

/// The lists `hosts from NAME` can read: each names hosts that live outside
/// the inventory, and the runtime fills them in.
const HOST_LISTS: &[&str] = &["ssh_config"];

fn plan_host_list(name: &ast::Ident, span: Span) -> Result<PlanSource> {
    if name.name == "ssh_config" {
        return Ok(PlanSource::SshConfig { span });
    }
    let mut error = Error::new(format!("unknown host list `{}`", name.name), name.span);
    if let Some(near) = crate::did_you_mean(&name.name, HOST_LISTS.iter().copied()) {
        error = error.with_hint(format!("did you mean '{near}'?"));
    }
    Err(error
        .with_hint("`hosts from ssh_config` selects the hosts named by `Host` lines of ssh_config"))
}

/// A nodeset operand is valid ClusterShell syntax and names at most
/// [`crate::MAX_NODESET_NAMES`] hosts; `span` is the nodeset's own.
fn check_nodeset(pattern: &str, span: Span) -> Result<()> {
    crate::parse_nodeset(pattern).map_err(|e| nodeset_error(pattern, &e, span))?;
    Ok(())
}

/// The error for a nodeset that cannot be read, at `span`.
pub fn nodeset_error(pattern: &str, error: &crate::NodeSetError, span: Span) -> Error {
    match error {
        crate::NodeSetError::Syntax(reason) => Error::new(
            format!("`{pattern}` is not a valid nodeset: {reason}"),
            span,
        )
        .with_hint("a nodeset looks like `web[001-020,033]` or `web1,db[1-3]`"),
        too_many => Error::new(too_many.to_string(), span)
            .with_hint("a nodeset names hosts of the inventory, such as `web[001-020]`"),
    }
}

/// A catalog for this crate's own tests: a `filter` and a `run` whose
/// operators are their checked arguments, so tests can look at them.
#[cfg(test)]
pub(crate) mod test_catalog {
    use super::*;
    use crate::plan::Predicate;
    use crate::signature::{Kind, Param};

    pub(crate) static FILTER: Signature = Signature {
        name: "filter",
        aliases: &["where"],
        summary: "",
        help: "",
        params: &[Param::arg("predicate", Kind::Predicate, "PRED")],
        options: &[],
        takes_as: false,
        data_columns: false,
    };

    pub(crate) static RUN: Signature = Signature {
        name: "run",
        aliases: &[],
        summary: "",
        help: "",
        params: &[Param::arg("command", Kind::Text, "\"CMD\"")],
        options: &[Param::option("timeout", Kind::Duration, "DUR").example("5s")],
        takes_as: true,
        data_columns: false,
    };

    /// Enough of `act` for the alarm and bot files' tests (rules.rs).
    pub(crate) static ACT: Signature = Signature {
        name: "act",
        aliases: &[],
        summary: "",
        help: "",
        params: &[Param::arg("command", Kind::Text, "\"CMD\"")],
        options: &[
            Param::option("batch", Kind::Words, "N,P%,..."),
            Param::option("verify", Kind::Text, "\"CMD\""),
        ],
        takes_as: false,
        data_columns: false,
    };

    pub(crate) struct TestCatalog;

    impl Catalog for TestCatalog {
        type Op = (&'static str, Args);

        fn signatures(&self) -> Vec<&'static Signature> {
            vec![&FILTER, &RUN, &ACT]
        }

        fn build(&self, signature: &'static Signature, args: Args) -> Result<Self::Op> {
            Ok((signature.name, args))
        }
    }

    /// The checked arguments of the first stage of `query`.
    pub(crate) fn first_stage(query: &str) -> Args {
        let mut plan = crate::compile(query, &TestCatalog)
            .unwrap_or_else(|e| panic!("{}", e.render(query, false)));
        plan.statements.remove(0).ops.remove(0).1
    }

    /// The predicate of `hosts | filter SOURCE`.
    pub(crate) fn predicate(source: &str) -> Predicate {
        first_stage(&format!("hosts | filter {source}"))
            .require("predicate")
            .unwrap()
    }
}
