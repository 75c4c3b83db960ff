use super::*;

/// A frame of text columns, `None` for null.
fn frame(columns: &[(&str, Vec<Option<&str>>)]) -> DataFrame {
    let height = columns.first().map_or(0, |(_, v)| v.len());
    let columns = columns
        .iter()
        .map(|(name, values)| Column::new((*name).into(), values.clone()))
        .collect();
    DataFrame::new(height, columns).unwrap()
}

fn look(format: Format) -> Look {
    Look {
        format,
        full: false,
        width: None,
        color: false,
        terminal: false,
    }
}

/// Drops ANSI CSI sequences (`ESC [ ... final byte`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The hostile samples: what a host could print to take over a terminal.
const HOSTILE: &[(&str, &str)] = &[
    ("\x1b[2J", "\\e[2J"),
    ("\x1b]0;title\x07", "\\e]0;title\\x07"),
    ("\x1b]52;c;ZXZpbA==\x07", "\\e]52;c;ZXZpbA==\\x07"),
    ("healthy\rFAILED!", "healthy\\rFAILED!"),
    ("\x1b[A", "\\e[A"),
    ("\u{9b}2J", "\\u{9b}2J"),
    ("\x1bP+q\x1b\\", "\\eP+q\\e\\"),
    ("ab\x08\x08XY", "ab\\x08\\x08XY"),
    ("\0\x7f", "\\x00\\x7f"),
    ("\u{9d}0;t\u{9c}", "\\u{9d}0;t\\u{9c}"),
    ("admin\u{202e}txt.exe", "admin\\u{202e}txt.exe"),
];

#[test]
fn visible_escapes_every_control_sequence_a_host_could_print() {
    for (raw, shown) in HOSTILE {
        assert_eq!(visible(raw), *shown, "{raw:?}");
        assert_eq!(visible_line(raw), *shown, "{raw:?}");
    }
}

#[test]
fn visible_keeps_plain_text_newlines_and_replacement_characters() {
    assert!(matches!(visible("web01 ok"), Cow::Borrowed("web01 ok")));
    assert!(matches!(visible("a\nb"), Cow::Borrowed("a\nb")));
    assert_eq!(visible_line("a\nb"), "a\\nb");
    // Bytes that were not UTF-8 arrive as U+FFFD, which shows.
    assert_eq!(visible("caf\u{fffd}"), "caf\u{fffd}");
    assert_eq!(visible("déjà vu 日本"), "déjà vu 日本");
}

#[test]
fn tabs_become_spaces_to_the_next_stop_of_eight() {
    assert_eq!(visible("a\tb"), "a       b");
    assert_eq!(visible("12345678\tx"), "12345678        x");
    assert_eq!(visible("x\n\ty"), "x\n        y");
    // An escape counts its own width.
    assert_eq!(visible("\x1b\tz"), "\\e      z");
}

/// A small deterministic generator, so the test needs no dependency.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn random_text(state: &mut u64) -> String {
    let pool: &[char] = &[
        'a', 'Z', ' ', ',', '[', ']', '\n', '\t', '\r', '\x1b', '\x07', '\x08', '\0', '\x7f',
        '\u{85}', '\u{9b}', '\u{9f}', '\u{202e}', '\u{2066}', '\u{fffd}', 'é', '日', '…', '\\',
        '"', '\u{2028}', '\u{200b}',
    ];
    let len = (xorshift(state) % 90) as usize;
    (0..len)
        .map(|_| pool[(xorshift(state) % pool.len() as u64) as usize])
        .collect()
}

#[test]
fn no_input_panics_or_reaches_the_terminal_raw() {
    let mut state = 0x5eed_u64;
    for round in 0..400 {
        let values: Vec<String> = (0..4).map(|_| random_text(&mut state)).collect();
        let name = random_text(&mut state);
        let df = frame(&[
            (
                if name.is_empty() { "x" } else { &name },
                vec![Some(&values[0]), None],
            ),
            ("status", vec![Some(&values[1]), Some("ok")]),
            ("hosts", vec![Some(&values[2]), Some(&values[3])]),
        ]);
        for text in &values {
            let shown = visible(text);
            assert!(
                !shown.chars().any(|c| c != '\n' && needs_escape(c, true)),
                "{text:?} -> {shown:?}"
            );
            assert!(!visible_line(text).contains('\n'));
        }
        let width = (xorshift(&mut state) % 120) as usize;
        for (format, full, terminal) in [
            (Format::Table, false, true),
            (Format::Table, true, true),
            (Format::Csv, false, true),
            (Format::Csv, false, false),
            (Format::Json, false, false),
        ] {
            let look = Look {
                format,
                full,
                width: (round % 2 == 0).then_some(width),
                color: round % 3 == 0,
                terminal,
            };
            let out = render(&df, &look).unwrap();
            if format == Format::Table || (format == Format::Csv && terminal) {
                let plain = strip_ansi(&out);
                assert!(
                    !plain.chars().any(|c| c != '\n' && needs_escape(c, true)),
                    "{format:?}: {out:?}"
                );
            }
            if format == Format::Json {
                assert_eq!(out.matches('\n').count(), 1, "{out}");
                assert!(!out.chars().any(|c| c != '\n' && needs_escape(c, true)));
                let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert_eq!(rows[0]["status"], values[1].as_str(), "JSON is exact");
                assert_eq!(rows[0]["hosts"], values[2].as_str(), "JSON is exact");
            }
        }
    }
}

#[test]
fn a_colored_table_is_aligned_on_its_visible_text() {
    let df = frame(&[
        ("host", vec![Some("web01"), Some("web02"), Some("db01")]),
        (
            "status",
            vec![Some("ok"), Some("unreachable"), Some("failed")],
        ),
    ]);
    let out = render(
        &df,
        &Look {
            color: true,
            ..look(Format::Table)
        },
    )
    .unwrap();
    assert!(out.contains("\x1b[32mok"), "{out:?}");
    assert!(out.contains("\x1b[31munreachable"), "{out:?}");
    let widths: Vec<usize> = strip_ansi(&out)
        .lines()
        .map(|l| l.chars().count())
        .collect();
    assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}\n{out}");
}

#[test]
fn an_empty_result_is_a_closed_table_that_says_zero_rows() {
    let df = frame(&[("host", vec![]), ("status", vec![])]);
    let out = render(&df, &look(Format::Table)).unwrap();
    assert_eq!(
        out,
        "┌──────┬────────┐\n│ host │ status │\n└──────┴────────┘\n0 rows\n"
    );
    assert_eq!(render(&df, &look(Format::Json)).unwrap(), "[]\n");
    assert_eq!(render(&df, &look(Format::Csv)).unwrap(), "host,status\n");
    let none = DataFrame::empty();
    assert_eq!(
        render(&none, &look(Format::Table)).unwrap(),
        "0 rows, no columns\n"
    );
}

#[test]
fn long_and_multi_line_cells_are_cut_with_a_visible_marker() {
    assert_eq!(shorten("short"), "short");
    // Multi-line cells show their lines.
    assert_eq!(shorten("a\nb"), "a\nb");
    let long = "x".repeat(100);
    assert_eq!(shorten(&long).chars().count(), CELL_WIDTH);
    assert!(shorten(&long).ends_with('…'));
    // Wide characters count two columns.
    let wide = "日".repeat(40);
    assert!(shorten(&wide).width() <= CELL_WIDTH);
    assert!(shorten(&wide).ends_with('…'));
    let many: Vec<String> = (1..=25).map(|i| format!("line {i}")).collect();
    let shown = shorten(&many.join("\n"));
    assert_eq!(shown.lines().count(), CELL_LINES + 1, "{shown}");
    assert!(shown.starts_with("line 1\nline 2\n"), "{shown}");
    assert!(shown.ends_with("line 10\n… 15 more lines"), "{shown}");
}

#[test]
fn full_shows_every_line_whole() {
    let many: Vec<String> = (1..=25).map(|i| format!("{i}{}", "y".repeat(80))).collect();
    let df = frame(&[("stdout", vec![Some(&many.join("\n"))])]);
    let out = render(
        &df,
        &Look {
            full: true,
            width: Some(40),
            ..look(Format::Table)
        },
    )
    .unwrap();
    for line in &many {
        assert!(out.contains(line.as_str()), "{out}");
    }
    assert!(!out.contains('…'));
}

#[test]
fn a_table_cut_to_a_width_marks_each_cut_line() {
    let df = frame(&[
        ("host", vec![Some("web01")]),
        ("stdout", vec![Some("first line is long enough\nsecond")]),
    ]);
    let out = render(
        &df,
        &Look {
            width: Some(24),
            ..look(Format::Table)
        },
    )
    .unwrap();
    assert!(out.lines().all(|l| l.chars().count() <= 24), "{out}");
    assert!(out.contains("web01"), "{out}");
    assert!(out.contains('…'), "{out}");
    assert!(out.contains("second"), "{out}");
}

#[test]
fn gathers_host_lists_wrap_after_commas_and_are_never_cut() {
    let hosts: Vec<String> = (0..40).map(|i| format!("web{i:02}")).collect();
    let list = hosts.join(",") + ",db[01-03,05]";
    let wrapped = wrap_list(&list, CELL_WIDTH);
    assert_eq!(wrapped.replace('\n', ""), list);
    assert!(
        wrapped.lines().all(|l| l.width() <= CELL_WIDTH),
        "{wrapped}"
    );
    assert!(wrapped.ends_with("db[01-03,05]"), "{wrapped}");
    // Brackets are not split, and one long part stays whole.
    assert_eq!(wrap_list("a[1,2,3],b", 4), "a[1,2,3],\nb");
    let df = frame(&[("hosts", vec![Some(&list)]), ("count", vec![Some("43")])]);
    let out = render(&df, &look(Format::Table)).unwrap();
    for host in &hosts {
        assert!(out.contains(host.as_str()), "{out}");
    }
    assert!(!out.contains('…'), "{out}");
}

#[test]
fn hostile_cells_and_headers_are_escaped_in_tables() {
    let raw: Vec<&str> = HOSTILE.iter().map(|(raw, _)| *raw).collect();
    let df = frame(&[
        ("stdout", raw.iter().map(|r| Some(*r)).collect()),
        ("evil\x1b[2J", raw.iter().map(|_| Some("x")).collect()),
    ]);
    let out = render(&df, &look(Format::Table)).unwrap();
    for (_, shown) in HOSTILE {
        assert!(out.contains(shown), "{shown} in\n{out}");
    }
    assert!(out.contains("evil\\e[2J"), "{out}");
    assert!(!out.contains(['\x1b', '\x07', '\r', '\u{9b}', '\x08']));
}

#[test]
fn json_is_one_line_in_column_order_and_round_trips_exactly() {
    let raw: Vec<&str> = HOSTILE.iter().map(|(raw, _)| *raw).collect();
    let df = frame(&[
        ("status", raw.iter().map(|_| Some("ok")).collect()),
        ("host", raw.iter().map(|_| Some("web01")).collect()),
        ("stdout", raw.iter().map(|r| Some(*r)).collect()),
    ]);
    let out = render(&df, &look(Format::Json)).unwrap();
    assert!(out.ends_with("]\n") && out.matches('\n').count() == 1);
    assert!(
        out.starts_with(r#"[{"status":"ok","host":"web01","stdout":"\u001b[2J"}"#),
        "{out}"
    );
    assert!(!out.chars().any(|c| c != '\n' && needs_escape(c, true)));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    for (row, raw) in rows.iter().zip(&raw) {
        assert_eq!(row["stdout"], *raw);
    }
}

#[test]
fn csv_is_exact_to_a_pipe_and_escaped_on_a_terminal() {
    let df = frame(&[("stdout", vec![Some("a\x1b[2J\rb,\"c\"\nd")])]);
    let piped = render(&df, &look(Format::Csv)).unwrap();
    assert_eq!(piped, "stdout\n\"a\x1b[2J\rb,\"\"c\"\"\nd\"\n");
    let shown = render(
        &df,
        &Look {
            terminal: true,
            ..look(Format::Csv)
        },
    )
    .unwrap();
    assert_eq!(shown, "stdout\n\"a\\e[2J\\rb,\"\"c\"\"\nd\"\n");
}

#[test]
fn numbers_stay_numbers_in_json() {
    let df = DataFrame::new(
        2,
        vec![
            Column::new("exit".into(), [Some(0i64), None]),
            Column::new("load".into(), [0.5f64, 1.25]),
        ],
    )
    .unwrap();
    assert_eq!(
        render(&df, &look(Format::Json)).unwrap(),
        "[{\"exit\":0,\"load\":0.5},{\"exit\":null,\"load\":1.25}]\n"
    );
}
