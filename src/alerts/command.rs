//! `on_fire`: the user's command, run once per firing as a program with arguments (never
//! through a shell, so a symbol or message can never become shell syntax), placeholders
//! substituted per argument, output discarded, killed after [`TIMEOUT`]; failures are logged.

use super::rules::{PLACEHOLDERS, placeholders_in};
use crate::store::alerts::Firing;
use std::process::Stdio;
use std::time::Duration;

/// How long a command may run before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The value of each placeholder for `firing`.
fn value_of(name: &str, f: &Firing) -> String {
    match name {
        "name" => f.rule.clone(),
        "kind" => f.kind.clone(),
        "value" => format!("{}", crate::tools::format::round(f.value, 4)),
        "level" => format!("{}", crate::tools::format::round(f.level, 4)),
        "symbol" => f.subject.clone().unwrap_or_default(),
        "time" => crate::tools::format::utc(f.time),
        "message" => f.message.clone(),
        _ => String::new(),
    }
}

/// `argv` with every `{placeholder}` replaced by its value for `firing`. Unknown braces stay.
pub fn substitute(argv: &[String], f: &Firing) -> Vec<String> {
    argv.iter()
        .map(|arg| {
            let mut out = arg.clone();
            for name in placeholders_in(arg) {
                if PLACEHOLDERS.contains(&name) {
                    out = out.replace(&format!("{{{name}}}"), &value_of(name, f));
                }
            }
            out
        })
        .collect()
}

/// Runs the command for `firing` and waits for it (bounded by [`TIMEOUT`]). Returns the
/// failure in words, which the caller logs.
pub async fn run(argv: &[String], f: &Firing) -> Result<(), String> {
    let args = substitute(argv, f);
    let Some((program, rest)) = args.split_first() else {
        return Ok(());
    };
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not start {program:?}: {e}"))?;
    match tokio::time::timeout(TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{program:?} exited with {status}")),
        Ok(Err(e)) => Err(format!("waiting for {program:?}: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "{program:?} still running after {} s; killed",
                TIMEOUT.as_secs()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_substituted_per_argument_without_a_shell() {
        let f = Firing {
            id: 1,
            time: 0,
            rule: "KRYX over 55".into(),
            kind: "price_above".into(),
            subject: Some("KRYX".into()),
            value: 55.123456,
            level: 55.0,
            message: "KRYX price 55.12 ≥ 55.00; $(rm -rf ~)".into(),
            cleared: None,
            bell: true,
        };
        let argv: Vec<String> = [
            "notify-send",
            "{name}",
            "{symbol} at {value} (line {level})",
            "{message}",
            "{other}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = substitute(&argv, &f);
        assert_eq!(out[1], "KRYX over 55");
        assert_eq!(out[2], "KRYX at 55.1235 (line 55)");
        assert_eq!(out[3], "KRYX price 55.12 ≥ 55.00; $(rm -rf ~)");
        assert_eq!(out[4], "{other}");
    }
}
