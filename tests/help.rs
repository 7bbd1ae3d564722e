//! The help is part of the interface: every subcommand shows examples that parse and its
//! exit codes, every argument says what it is, and the global flags stand apart.

use theater_replay::cli::command;

/// Words of a shell line up to its first pipe, redirection or `&&`/`||`, single and double
/// quotes removed (enough for the examples we write).
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '|' | '>' | '&') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn every_subcommand_has_examples_that_parse_and_its_exit_codes() {
    let cli = command();
    let subcommands: Vec<_> = cli.get_subcommands().filter(|s| s.get_name() != "help").collect();
    assert!(subcommands.len() >= 10);
    let top = cli.get_after_help().map(|h| h.to_string()).unwrap_or_default();
    for sub in subcommands.iter().map(|s| s.get_name().to_string()).chain([String::new()]) {
        let help = match sub.as_str() {
            "" => top.clone(),
            name => cli.find_subcommand(name).unwrap().get_after_help().map(|h| h.to_string()).unwrap_or_default(),
        };
        assert!(help.contains("Examples:\n"), "{sub}: no examples");
        assert!(help.contains("\nExit codes"), "{sub}: no exit codes");
        let examples: Vec<&str> = help.lines().map(str::trim).filter(|l| l.starts_with("theater-replay ")).collect();
        assert!(!examples.is_empty(), "{sub}: no example command");
        for example in examples {
            // Each command of a line (`a && b`) parses as the binary would parse it.
            for part in example.split("&&").map(str::trim).filter(|p| p.starts_with("theater-replay ")) {
                let args = words(part);
                // `help verify` "fails" by printing the help: that is what it is for.
                match command().try_get_matches_from(&args) {
                    Err(e) if e.kind() != clap::error::ErrorKind::DisplayHelp => {
                        panic!("{sub}: the example `{part}` does not parse: {e}")
                    }
                    _ => {}
                }
            }
        }
        // Every exit code a command lists is one of the documented six (4: `verify`, nothing
        // to replay; 5: `check`, events that could not be checked).
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        for line in help.lines().skip_while(|l| !l.starts_with("Exit codes")).skip(1) {
            if let Some(code) = line.split_whitespace().next().and_then(|c| c.parse::<u8>().ok()) {
                assert!(code <= 5, "{sub}: exit code {code}");
                assert!(readme.contains(&format!("\n| {code} | ")), "{sub}: exit code {code} is not in the README's table");
            }
        }
    }
}

#[test]
fn no_example_chains_a_command_after_one_that_fails_when_it_did_its_job() {
    // `verify --accept` exits 1 when a chain diverged, which is when it wrote a `.new`:
    // `&& theater-replay pending` would never run when there is something to review.
    let cli = command();
    for sub in cli.get_subcommands() {
        let help = sub.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        for line in help.lines().filter(|l| l.contains("--accept")) {
            assert!(!line.contains("&&"), "{}: `{}`", sub.get_name(), line.trim());
        }
    }
}

#[test]
fn every_argument_is_described_and_global_flags_are_grouped() {
    let cli = command();
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        for arg in sub.get_arguments().filter(|a| a.get_id() != "help") {
            let described = arg.get_help().or(arg.get_long_help()).is_some_and(|h| !h.to_string().trim().is_empty());
            assert!(described, "{} {}: no help text", sub.get_name(), arg.get_id());
        }
    }
    for id in ["verbose", "quiet", "color"] {
        let arg = cli.get_arguments().find(|a| a.get_id() == id).unwrap();
        assert!(arg.is_global_set(), "{id}");
        assert_eq!(arg.get_help_heading(), Some("Global options"), "{id}");
    }
}

#[test]
fn the_word_splitter_of_these_tests_keeps_quoted_text_whole() {
    assert_eq!(
        words(r#"theater-replay record a.wasm --invoke 'run("hi")' -o x | jq ."#),
        ["theater-replay", "record", "a.wasm", "--invoke", "run(\"hi\")", "-o", "x"]
    );
    assert_eq!(words(r#"x --invoke "run(\"a b\")""#), ["x", "--invoke", "run(\"a b\")"]);
}
