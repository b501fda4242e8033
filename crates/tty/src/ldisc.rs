//! The n_tty line discipline: what a Linux terminal does between the keyboard and `read`, and
//! between `write` and the screen, as set by a [`Termios`].
//!
//! * Input ([`LineDiscipline::receive`]): ISTRIP, IGNCR/ICRNL/INLCR, IXON (^S/^Q are consumed),
//!   ISIG (VINTR/VQUIT/VSUSP give a signal for the foreground group and flush the input unless
//!   NOFLSH), VLNEXT (IEXTEN), canonical editing (VERASE and ^H, VWERASE, VKILL, VREPRINT, VEOF,
//!   VEOL/VEOL2/newline, lines of at most 4095 bytes, IUTF8-aware erase) and echo (ECHO, ECHOE,
//!   ECHOK, ECHOKE, ECHONL, ECHOCTL). The echo is returned as bytes ready for the device.
//! * Reading ([`LineDiscipline::read`] and [`LineDiscipline::read_decision`]): one line at a
//!   time in canonical mode (an empty "line" from VEOF at line start is end of file), and the
//!   VMIN/VTIME rules in non-canonical mode, as a decision the kernel's blocking read follows.
//! * Output ([`LineDiscipline::process_output`]): OPOST with ONLCR, OCRNL, ONOCR, ONLRET, OLCUC
//!   and TAB3 (tabs to spaces).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use exo_abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use exo_abi::termios::*;

/// Longest canonical line (bytes, without its terminator), as Linux's 4096-byte buffer allows.
pub const MAX_LINE: usize = 4095;
/// Most bytes waiting to be read; input beyond this is dropped.
pub const MAX_INPUT: usize = 4096;

/// A time limit of a non-canonical read, from VTIME (tenths of a second).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Timeout {
    /// Counted from the start of the read (VMIN = 0, VTIME > 0).
    Overall(u64),
    /// Counted from the last byte received (VMIN > 0, VTIME > 0), once one byte has arrived.
    InterByte(u64),
}

/// What a read should do after taking what was available.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReadDecision {
    /// Return to the caller with the bytes taken so far (possibly 0).
    Return,
    /// Sleep until more input arrives (or the timeout, in ns, expires: then return).
    Wait(Option<Timeout>),
}

/// The state of one terminal's line discipline.
pub struct LineDiscipline {
    termios: Termios,
    /// Bytes a read can take (complete lines in canonical mode).
    ready: VecDeque<u8>,
    /// Canonical mode: lengths of the complete lines in `ready` (0 = an end-of-file mark).
    lines: VecDeque<usize>,
    /// Canonical mode: the line being edited.
    line: Vec<u8>,
    /// The output column where the edited line started (for erasing tabs).
    line_start_column: usize,
    /// The output column (as output processing sees it).
    column: usize,
    /// The previous byte was VLNEXT.
    literal_next: bool,
    /// Output stopped by VSTOP (IXON) until VSTART.
    stopped: bool,
}

fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7f
}

impl LineDiscipline {
    /// A line discipline with `termios` and empty buffers.
    pub fn new(termios: Termios) -> LineDiscipline {
        LineDiscipline {
            termios,
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            line: Vec::new(),
            line_start_column: 0,
            column: 0,
            literal_next: false,
            stopped: false,
        }
    }

    /// The current settings.
    pub fn termios(&self) -> &Termios {
        &self.termios
    }

    fn lflag(&self, flag: u32) -> bool {
        self.termios.c_lflag & flag != 0
    }

    fn iflag(&self, flag: u32) -> bool {
        self.termios.c_iflag & flag != 0
    }

    fn canonical(&self) -> bool {
        self.lflag(ICANON)
    }

    /// Whether `byte` is the (enabled) control character `index`.
    fn is_cc(&self, byte: u8, index: usize) -> bool {
        let cc = self.termios.c_cc[index];
        cc != 0 && cc == byte
    }

    /// Changes the settings. Leaving canonical mode makes the line being edited readable;
    /// entering it makes what is readable one line.
    pub fn set_termios(&mut self, termios: Termios) {
        let was_canonical = self.canonical();
        self.termios = termios;
        if was_canonical && !self.canonical() {
            self.ready.extend(self.line.drain(..));
            self.lines.clear();
        } else if !was_canonical && self.canonical() {
            self.line_start_column = self.column;
            self.lines.clear();
            if !self.ready.is_empty() {
                self.lines.push_back(self.ready.len());
            }
        }
    }

    /// Discards all input (read buffer and edited line): TCFLSH, signals.
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.lines.clear();
        self.line.clear();
        self.literal_next = false;
        // The next line starts where the cursor is (not where the discarded one started).
        self.line_start_column = self.column;
    }

    /// Bytes a read could take now (FIONREAD): complete lines in canonical mode.
    pub fn readable_bytes(&self) -> usize {
        self.ready.len()
    }

    /// Whether a read would take something now (data, or an end-of-file mark).
    pub fn has_input(&self) -> bool {
        if self.canonical() {
            !self.lines.is_empty()
        } else {
            !self.ready.is_empty()
        }
    }

    /// Whether output is stopped by ^S (IXON).
    pub fn output_stopped(&self) -> bool {
        self.stopped
    }

    /// Whether poll should report the terminal readable.
    pub fn poll_readable(&self) -> bool {
        if self.canonical() {
            return !self.lines.is_empty();
        }
        let (vmin, vtime) = (usize::from(self.termios.c_cc[VMIN]), self.termios.c_cc[VTIME]);
        let wanted = if vtime == 0 && vmin > 0 { vmin } else { 1 };
        self.ready.len() >= wanted
    }

    /// Processes one received byte. Echo (already output-processed) is appended to `echo`;
    /// the result is the signal to send to the foreground process group, if any.
    pub fn receive(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<u32> {
        let mut c = byte;
        if self.iflag(ISTRIP) {
            c &= 0x7f;
        }
        if self.literal_next {
            self.literal_next = false;
            if self.lflag(ECHO) && self.lflag(ECHOCTL) {
                // Remove the "^" shown for VLNEXT; the character itself follows.
                self.output_bytes(b"\x08", echo);
            }
            self.store(c, echo);
            return None;
        }
        if self.iflag(IXON) {
            if self.is_cc(c, VSTOP) {
                self.stopped = true;
                return None;
            }
            if self.is_cc(c, VSTART) {
                self.stopped = false;
                return None;
            }
        }
        if self.lflag(ISIG) {
            let signal = [(VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)]
                .iter()
                .find(|&&(index, _)| self.is_cc(c, index))
                .map(|&(_, sig)| sig);
            if let Some(sig) = signal {
                if !self.lflag(NOFLSH) {
                    self.flush_input();
                }
                self.stopped = false;
                if self.lflag(ECHO) {
                    self.echo_char(c, echo);
                }
                if self.line.is_empty() {
                    self.line_start_column = self.column;
                }
                return Some(sig);
            }
        }
        if c == b'\r' {
            if self.iflag(IGNCR) {
                return None;
            }
            if self.iflag(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.iflag(INLCR) {
            c = b'\r';
        }
        if self.canonical() && self.edit(c, echo) {
            return None;
        }
        if self.lflag(IEXTEN) && self.is_cc(c, VLNEXT) {
            self.literal_next = true;
            if self.lflag(ECHO) && self.lflag(ECHOCTL) {
                self.output_bytes(b"^", echo);
            }
            return None;
        }
        self.store(c, echo);
        None
    }

    /// Canonical editing characters; true when `c` was one (and is consumed).
    fn edit(&mut self, c: u8, echo: &mut Vec<u8>) -> bool {
        if self.is_cc(c, VERASE) || c == 0x08 {
            self.erase_chars(1, c, echo);
        } else if self.lflag(IEXTEN) && self.is_cc(c, VWERASE) {
            let n = self.word_length();
            self.erase_chars(n, c, echo);
        } else if self.is_cc(c, VKILL) {
            self.kill_line(c, echo);
        } else if self.lflag(IEXTEN) && self.is_cc(c, VREPRINT) {
            if self.lflag(ECHO) {
                self.echo_char(c, echo);
                self.output_bytes(b"\n", echo);
                self.line_start_column = self.column;
                let line = core::mem::take(&mut self.line);
                for &b in &line {
                    self.echo_char(b, echo);
                }
                self.line = line;
            }
        } else if self.is_cc(c, VEOF) {
            self.complete_line();
        } else {
            return false;
        }
        true
    }

    /// Number of characters VWERASE removes: trailing blanks, then a word.
    fn word_length(&self) -> usize {
        let mut n = 0;
        let mut seen_word = false;
        for &b in self.line.iter().rev() {
            let word = b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
            if word {
                seen_word = true;
            } else if seen_word {
                break;
            }
            n += 1;
        }
        n
    }

    /// Removes `count` characters (UTF-8 sequences with IUTF8) from the edited line, echoing
    /// the erasure.
    fn erase_chars(&mut self, count: usize, erase_char: u8, echo: &mut Vec<u8>) {
        if self.line.is_empty() {
            return;
        }
        for _ in 0..count {
            let Some(last) = self.line.pop() else { break };
            let mut removed = alloc::vec![last];
            if self.iflag(IUTF8) && (0x80..0xc0).contains(&last) {
                while let Some(&b) = self.line.last() {
                    self.line.pop();
                    removed.insert(0, b);
                    if !(0x80..0xc0).contains(&b) {
                        break;
                    }
                }
            }
            if self.lflag(ECHO) {
                if self.lflag(ECHOE) {
                    self.rub_out(&removed, echo);
                } else {
                    self.echo_char(erase_char, echo);
                }
            }
        }
    }

    /// Visually erases the characters `removed` (just taken off the end of the line).
    fn rub_out(&mut self, removed: &[u8], echo: &mut Vec<u8>) {
        let first = removed[0];
        if first == b'\t' {
            // Back to where the tab started: the column after the rest of the line. A tab is
            // 1 to 8 columns wide whatever the bookkeeping says (as Linux's echo_erase_tab), so
            // output written while the line was edited cannot make this unbounded.
            let start = self.columns_after(&self.line.clone());
            let n = 8 - start % 8;
            for _ in 0..n {
                self.output_bytes(b"\x08", echo);
            }
            return;
        }
        let width = if is_control(first) && self.lflag(ECHOCTL) {
            2
        } else if is_control(first) {
            0
        } else {
            1
        };
        for _ in 0..width {
            self.output_bytes(b"\x08 \x08", echo);
        }
    }

    /// The column reached by echoing `text` from the line's start column.
    fn columns_after(&self, text: &[u8]) -> usize {
        let mut col = self.line_start_column;
        for &b in text {
            col = match b {
                b'\t' => (col / 8 + 1) * 8,
                b if is_control(b) && self.lflag(ECHOCTL) => col + 2,
                b if is_control(b) => col,
                b if self.iflag(IUTF8) && (0x80..0xc0).contains(&b) => col,
                _ => col + 1,
            };
        }
        col
    }

    fn kill_line(&mut self, kill_char: u8, echo: &mut Vec<u8>) {
        if self.line.is_empty() {
            return;
        }
        if !self.lflag(ECHO) {
            self.line.clear();
            return;
        }
        if self.lflag(ECHOKE) && self.lflag(ECHOE) {
            let n = self.line.len();
            self.erase_chars(n, kill_char, echo);
        } else {
            self.line.clear();
            self.echo_char(kill_char, echo);
            if self.lflag(ECHOK) {
                self.output_bytes(b"\n", echo);
            }
            self.line_start_column = self.column;
        }
    }

    /// Makes the edited line readable (VEOF: without a terminator; empty = end of file).
    fn complete_line(&mut self) {
        let len = self.line.len();
        self.ready.extend(self.line.drain(..));
        self.lines.push_back(len);
        self.line_start_column = self.column;
    }

    /// Stores an ordinary character: in the edited line or, non-canonical, the read buffer.
    fn store(&mut self, c: u8, echo: &mut Vec<u8>) {
        if !self.canonical() {
            if self.ready.len() < MAX_INPUT {
                self.ready.push_back(c);
                if self.lflag(ECHO) {
                    self.echo_char(c, echo);
                }
            }
            return;
        }
        let terminator = c == b'\n' || self.is_cc(c, VEOL) || (self.lflag(IEXTEN) && self.is_cc(c, VEOL2));
        if !terminator && self.line.len() >= MAX_LINE {
            if self.iflag(IMAXBEL) && self.lflag(ECHO) {
                echo.push(0x07);
            }
            return;
        }
        if self.ready.len() + self.line.len() >= MAX_INPUT {
            return;
        }
        if c == b'\n' {
            if self.lflag(ECHO) || self.lflag(ECHONL) {
                self.output_bytes(b"\n", echo);
            }
        } else if self.lflag(ECHO) {
            self.echo_char(c, echo);
        }
        self.line.push(c);
        if terminator {
            self.complete_line();
        }
    }

    /// Echoes one input character: control characters as ^X with ECHOCTL (not tab/newline).
    fn echo_char(&mut self, c: u8, echo: &mut Vec<u8>) {
        if is_control(c) && c != b'\t' && c != b'\n' && self.lflag(ECHOCTL) {
            self.output_bytes(&[b'^', c ^ 0x40], echo);
        } else {
            self.output_bytes(&[c], echo);
        }
    }

    fn output_bytes(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            self.output_byte(b, out);
        }
    }

    /// Output processing of a `write`: appends the bytes to send to the device to `out`.
    pub fn process_output(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.output_bytes(bytes, out);
    }

    fn output_byte(&mut self, byte: u8, out: &mut Vec<u8>) {
        let oflag = self.termios.c_oflag;
        if oflag & OPOST == 0 {
            out.push(byte);
            self.track_column(byte);
            return;
        }
        match byte {
            b'\n' => {
                if oflag & ONLCR != 0 {
                    out.extend_from_slice(b"\r\n");
                    self.column = 0;
                    return;
                }
                if oflag & ONLRET != 0 {
                    self.column = 0;
                }
                out.push(b'\n');
            }
            b'\r' => {
                if oflag & ONOCR != 0 && self.column == 0 {
                    return;
                }
                if oflag & OCRNL != 0 {
                    out.push(b'\n');
                    if oflag & ONLRET != 0 {
                        self.column = 0;
                    }
                    return;
                }
                out.push(b'\r');
                self.column = 0;
            }
            b'\t' if oflag & TABDLY == TAB3 => {
                let next = (self.column / 8 + 1) * 8;
                while self.column < next {
                    out.push(b' ');
                    self.column += 1;
                }
            }
            _ => {
                let b = if oflag & OLCUC != 0 { byte.to_ascii_uppercase() } else { byte };
                out.push(b);
                self.track_column(b);
            }
        }
    }

    fn track_column(&mut self, byte: u8) {
        match byte {
            b'\r' => self.column = 0,
            b'\n' => {}
            b'\t' => self.column = (self.column / 8 + 1) * 8,
            0x08 => self.column = self.column.saturating_sub(1),
            b if is_control(b) => {}
            b if self.iflag(IUTF8) && (0x80..0xc0).contains(&b) => {}
            _ => self.column += 1,
        }
    }

    /// Takes readable bytes into `buf`. Canonical mode takes from one line at most; returns
    /// `(bytes, eof)` where `eof` says an end-of-file mark was consumed (read returns 0).
    pub fn read(&mut self, buf: &mut [u8]) -> (usize, bool) {
        if !self.canonical() {
            let n = buf.len().min(self.ready.len());
            for (slot, byte) in buf.iter_mut().zip(self.ready.drain(..n)) {
                *slot = byte;
            }
            return (n, false);
        }
        let Some(&len) = self.lines.front() else { return (0, false) };
        if len == 0 {
            self.lines.pop_front();
            return (0, true);
        }
        let n = buf.len().min(len);
        for (slot, byte) in buf.iter_mut().zip(self.ready.drain(..n)) {
            *slot = byte;
        }
        if n == len {
            self.lines.pop_front();
        } else if let Some(front) = self.lines.front_mut() {
            *front = len - n;
        }
        (n, false)
    }

    /// What a read that has taken `got` of `wanted` bytes (`eof`: it consumed an end-of-file
    /// mark) should do next. Timeouts are in nanoseconds.
    pub fn read_decision(&self, got: usize, wanted: usize, eof: bool) -> ReadDecision {
        if wanted == 0 || eof || got >= wanted {
            return ReadDecision::Return;
        }
        if self.canonical() {
            return if got > 0 { ReadDecision::Return } else { ReadDecision::Wait(None) };
        }
        let vmin = usize::from(self.termios.c_cc[VMIN]);
        let vtime_ns = u64::from(self.termios.c_cc[VTIME]) * 100_000_000;
        match (vmin, vtime_ns) {
            (0, 0) => ReadDecision::Return,
            (0, t) => {
                if got > 0 {
                    ReadDecision::Return
                } else {
                    ReadDecision::Wait(Some(Timeout::Overall(t)))
                }
            }
            (m, 0) => {
                if got >= m.min(wanted) {
                    ReadDecision::Return
                } else {
                    ReadDecision::Wait(None)
                }
            }
            (m, t) => {
                if got >= m.min(wanted) {
                    ReadDecision::Return
                } else if got == 0 {
                    ReadDecision::Wait(None)
                } else {
                    ReadDecision::Wait(Some(Timeout::InterByte(t)))
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "ldisc_tests.rs"]
mod tests;
