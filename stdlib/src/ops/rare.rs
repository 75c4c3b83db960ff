//! `rare COL [N]`: the N least common values of a column; `top` with the
//! order reversed (the ranking lives in `top.rs`).

use shoal_lang::{Args, Result, Signature};

use super::top::{RANK_PARAMS, ranking};
use super::{Example, Op, Operator};

pub struct Rare;

static SIGNATURE: Signature = Signature {
    name: "rare",
    aliases: &[],
    summary: "The N (default 10) least common values of COL, with their count and percent of all rows; the odd ones out come first.",
    help: "",
    params: RANK_PARAMS,
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Rare {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "The version only one host runs",
            query: "hosts | run \"cat /etc/app/version\" | filter status = ok | rare stdout",
            output: "\
stdout  count  percent
2.0.9   1      20.0
2.1.0   4      80.0
",
        }]
    }
    fn plan(&self, args: Args) -> Result<Op> {
        ranking(args, true)
    }
}
