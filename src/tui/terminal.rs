//! Terminal setup and teardown. The terminal is restored on every way out: normal return, error
//! (the guard's `Drop`), and panic (a hook that restores first, then prints a short message and
//! where the log is — the details go to the log, not over the user's shell).

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, Stdout};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Whether the terminal is currently in cockpit mode (so restore runs once).
static ACTIVE: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    /// Set for the UI loop's task, so the panic hook can tell a UI panic (restore the terminal)
    /// from a panicking background fetch (log it; the loop carries on and shows the failure).
    static UI_TASK: ();
}

/// Runs the UI loop future marked as the UI task (see `UI_TASK`).
pub async fn as_ui_task<F: std::future::Future>(f: F) -> F::Output {
    UI_TASK.scope((), f).await
}

fn panicking_in_ui() -> bool {
    UI_TASK.try_with(|_| ()).is_ok() || tokio::task::try_id().is_none()
}

/// Puts the terminal back the way the shell had it. Safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        // Blank the alternate screen and park the cursor at its top before leaving it. A
        // terminal that was enlarged while the cockpit ran shrinks the alternate screen back to
        // the shell's size on the way out; tmux, for one, pushes rows above the cursor into the
        // shell's scrollback then, and they reappear above the prompt. With the cursor on the
        // first row and nothing drawn, no cockpit row can survive.
        let _ = execute!(
            io::stdout(),
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
            crossterm::cursor::MoveTo(0, 0),
            LeaveAlternateScreen,
            DisableMouseCapture,
            crossterm::cursor::Show
        );
    }
}

/// Restores the terminal when dropped.
pub struct Guard {
    pub terminal: Term,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode, alternate screen, mouse capture; plus the panic hook.
pub fn init(log_path: Option<PathBuf>) -> io::Result<Guard> {
    install_panic_hook(log_path);
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    if let Err(e) = execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    let terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
        Ok(t) => t,
        Err(e) => {
            restore();
            return Err(e);
        }
    };
    Ok(Guard { terminal })
}

fn install_panic_hook(log_path: Option<PathBuf>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let was_active = ACTIVE.load(Ordering::SeqCst);
        if was_active && !panicking_in_ui() {
            // A background task: drawing over the UI would garble it; the log has it and the
            // task's failure reaches the loop as an error.
            tracing::error!("background task panicked: {info}");
            return;
        }
        restore();
        if !was_active {
            // Not our terminal session (e.g. a panic after the UI closed): default behaviour.
            previous(info);
            return;
        }
        tracing::error!("panic: {info}");
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "ibkr-cockpit stopped because of an internal error{location}. The terminal has been restored."
        );
        match &log_path {
            Some(p) => eprintln!("Details are in the log: {}", p.display()),
            None => eprintln!("Run with RUST_LOG=debug and a log file for details."),
        }
    }));
}
