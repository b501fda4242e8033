//! An ANSI/VT100 escape-sequence parser: a state machine fed the bytes written to a terminal,
//! producing [`Action`]s for a screen (printable characters decoded from UTF-8, C0 controls,
//! ESC and CSI sequences). Unknown or malformed sequences are consumed and ignored; parameters
//! are bounded, so no input can make it misbehave.

/// Most CSI parameters kept (later ones are dropped).
pub const MAX_PARAMS: usize = 16;

/// The parameters of an SGR (`ESC [ … m`) sequence.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Params {
    values: [u16; MAX_PARAMS],
    len: usize,
}

impl Params {
    const fn new() -> Params {
        Params { values: [0; MAX_PARAMS], len: 0 }
    }

    /// The parameters (missing ones are 0).
    pub fn as_slice(&self) -> &[u16] {
        &self.values[..self.len.max(1)]
    }

    /// Parameter `i`, with `default` when absent or 0.
    fn get_or(&self, i: usize, default: u16) -> u16 {
        match self.values.get(i) {
            Some(&v) if i < self.len && v != 0 => v,
            _ => default,
        }
    }
}

/// What the screen should do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Show a character at the cursor and advance.
    Print(char),
    CarriageReturn,
    /// Line feed (also VT and FF): down one line, scrolling at the bottom of the region.
    LineFeed,
    Backspace,
    Tab,
    Bell,
    /// Cursor movements by n (at least 1).
    CursorUp(u16),
    CursorDown(u16),
    CursorForward(u16),
    CursorBack(u16),
    /// Absolute position, 0-based.
    CursorPosition { row: u16, col: u16 },
    /// Column only (CSI G), 0-based.
    CursorColumn(u16),
    /// Row only (CSI d), 0-based.
    CursorRow(u16),
    /// Erase in display: 0 = cursor to end, 1 = start to cursor, 2/3 = all.
    EraseDisplay(u16),
    /// Erase in line: 0 = cursor to end, 1 = start to cursor, 2 = whole line.
    EraseLine(u16),
    /// Blank n characters from the cursor (CSI X).
    EraseChars(u16),
    /// Select graphic rendition.
    Sgr(Params),
    /// Scrolling region, 0-based inclusive rows; `None` = the whole screen.
    ScrollRegion { top: u16, bottom: Option<u16> },
    InsertLines(u16),
    DeleteLines(u16),
    InsertChars(u16),
    DeleteChars(u16),
    /// Scroll the region up / down by n (CSI S / T).
    ScrollUp(u16),
    ScrollDown(u16),
    SaveCursor,
    RestoreCursor,
    /// ESC M: up one line, scrolling down at the top of the region.
    ReverseIndex,
    /// ESC E: carriage return and line feed.
    NextLine,
    ShowCursor(bool),
    AlternateScreen(bool),
    /// ESC c: full reset.
    Reset,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Ground,
    Escape,
    /// ESC followed by an intermediate byte (e.g. `ESC ( B`): one more byte ends it.
    EscapeIntermediate,
    Csi,
    /// A string (OSC, DCS, ...) up to BEL or ESC \.
    String,
    StringEscape,
}

/// The parser state.
#[derive(Clone, Debug)]
pub struct Parser {
    state: State,
    params: Params,
    /// Private marker (`?`, `>`, ...) of the current CSI sequence.
    private: u8,
    /// An intermediate byte was seen in the CSI sequence (which is then ignored).
    intermediate: bool,
    /// UTF-8 decoding: the code point so far and the continuation bytes still expected.
    utf8: u32,
    utf8_left: u8,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    pub const fn new() -> Parser {
        Parser { state: State::Ground, params: Params::new(), private: 0, intermediate: false, utf8: 0, utf8_left: 0 }
    }

    /// Feeds one byte; returns the action it completes, if any.
    pub fn advance(&mut self, byte: u8) -> Option<Action> {
        // C0 controls act even inside sequences (as on a VT100), except in strings.
        if byte < 0x20 && !matches!(self.state, State::String | State::StringEscape) {
            match byte {
                0x1b => {
                    self.state = State::Escape;
                    self.utf8_left = 0;
                    return None;
                }
                0x18 | 0x1a => {
                    self.state = State::Ground;
                    return None;
                }
                _ => return control(byte),
            }
        }
        match self.state {
            State::Ground => self.ground(byte),
            State::Escape => self.escape(byte),
            State::EscapeIntermediate => {
                self.state = State::Ground;
                None
            }
            State::Csi => self.csi(byte),
            State::String => {
                match byte {
                    0x07 => self.state = State::Ground,
                    0x1b => self.state = State::StringEscape,
                    _ => {}
                }
                None
            }
            State::StringEscape => {
                self.state = if byte == b'\\' { State::Ground } else { State::String };
                None
            }
        }
    }

    fn ground(&mut self, byte: u8) -> Option<Action> {
        match byte {
            0x20..=0x7e => {
                self.utf8_left = 0;
                Some(Action::Print(char::from(byte)))
            }
            0x7f => None,
            0x80..=0xbf => {
                if self.utf8_left == 0 {
                    return Some(Action::Print(char::REPLACEMENT_CHARACTER));
                }
                self.utf8 = self.utf8 << 6 | u32::from(byte & 0x3f);
                self.utf8_left -= 1;
                if self.utf8_left == 0 {
                    Some(Action::Print(char::from_u32(self.utf8).unwrap_or(char::REPLACEMENT_CHARACTER)))
                } else {
                    None
                }
            }
            0xc0..=0xdf => self.start_utf8(u32::from(byte & 0x1f), 1),
            0xe0..=0xef => self.start_utf8(u32::from(byte & 0x0f), 2),
            0xf0..=0xf7 => self.start_utf8(u32::from(byte & 0x07), 3),
            _ => Some(Action::Print(char::REPLACEMENT_CHARACTER)),
        }
    }

    fn start_utf8(&mut self, bits: u32, left: u8) -> Option<Action> {
        let broken = self.utf8_left != 0;
        self.utf8 = bits;
        self.utf8_left = left;
        broken.then_some(Action::Print(char::REPLACEMENT_CHARACTER))
    }

    fn escape(&mut self, byte: u8) -> Option<Action> {
        self.state = State::Ground;
        match byte {
            b'[' => {
                self.state = State::Csi;
                self.params = Params::new();
                self.private = 0;
                self.intermediate = false;
                None
            }
            b']' | b'P' | b'X' | b'^' | b'_' => {
                self.state = State::String;
                None
            }
            0x20..=0x2f => {
                self.state = State::EscapeIntermediate;
                None
            }
            b'7' => Some(Action::SaveCursor),
            b'8' => Some(Action::RestoreCursor),
            b'M' => Some(Action::ReverseIndex),
            b'D' => Some(Action::LineFeed),
            b'E' => Some(Action::NextLine),
            b'c' => Some(Action::Reset),
            _ => None,
        }
    }

    fn csi(&mut self, byte: u8) -> Option<Action> {
        match byte {
            b'0'..=b'9' => {
                if self.params.len == 0 {
                    self.params.len = 1;
                }
                let i = self.params.len - 1;
                if i < MAX_PARAMS {
                    let v = &mut self.params.values[i];
                    *v = v.saturating_mul(10).saturating_add(u16::from(byte - b'0'));
                }
                None
            }
            b';' | b':' => {
                if self.params.len == 0 {
                    self.params.len = 1;
                }
                if self.params.len < MAX_PARAMS {
                    self.params.len += 1;
                } else {
                    // Too many: the rest go nowhere.
                    self.params.len = MAX_PARAMS + 1;
                }
                None
            }
            b'<'..=b'?' => {
                self.private = byte;
                None
            }
            0x20..=0x2f => {
                self.intermediate = true;
                None
            }
            0x40..=0x7e => {
                self.state = State::Ground;
                self.params.len = self.params.len.min(MAX_PARAMS);
                if self.intermediate {
                    return None;
                }
                self.dispatch(byte)
            }
            _ => {
                self.state = State::Ground;
                None
            }
        }
    }

    fn dispatch(&self, final_byte: u8) -> Option<Action> {
        let p = &self.params;
        let n = p.get_or(0, 1);
        if self.private == b'?' {
            let on = match final_byte {
                b'h' => true,
                b'l' => false,
                _ => return None,
            };
            return p.as_slice().iter().find_map(|&mode| match mode {
                25 => Some(Action::ShowCursor(on)),
                47 | 1047 | 1049 => Some(Action::AlternateScreen(on)),
                _ => None,
            });
        }
        if self.private != 0 {
            return None;
        }
        let zero_based = |v: u16| v.saturating_sub(1);
        Some(match final_byte {
            b'A' => Action::CursorUp(n),
            b'B' | b'e' => Action::CursorDown(n),
            b'C' | b'a' => Action::CursorForward(n),
            b'D' => Action::CursorBack(n),
            b'E' => return None,
            b'G' | b'`' => Action::CursorColumn(zero_based(n)),
            b'd' => Action::CursorRow(zero_based(n)),
            b'H' | b'f' => Action::CursorPosition { row: zero_based(p.get_or(0, 1)), col: zero_based(p.get_or(1, 1)) },
            b'J' => Action::EraseDisplay(p.get_or(0, 0)),
            b'K' => Action::EraseLine(p.get_or(0, 0)),
            b'X' => Action::EraseChars(n),
            b'm' => Action::Sgr(*p),
            b'r' => {
                let top = zero_based(p.get_or(0, 1));
                let bottom = (p.len >= 2 && p.values[1] != 0).then(|| zero_based(p.values[1]));
                Action::ScrollRegion { top, bottom }
            }
            b'L' => Action::InsertLines(n),
            b'M' => Action::DeleteLines(n),
            b'@' => Action::InsertChars(n),
            b'P' => Action::DeleteChars(n),
            b'S' => Action::ScrollUp(n),
            b'T' => Action::ScrollDown(n),
            b's' => Action::SaveCursor,
            b'u' => Action::RestoreCursor,
            _ => return None,
        })
    }
}

/// The action of a C0 control character.
fn control(byte: u8) -> Option<Action> {
    match byte {
        0x07 => Some(Action::Bell),
        0x08 => Some(Action::Backspace),
        0x09 => Some(Action::Tab),
        0x0a..=0x0c => Some(Action::LineFeed),
        0x0d => Some(Action::CarriageReturn),
        _ => None,
    }
}

#[cfg(test)]
#[path = "ansi_tests.rs"]
mod tests;
