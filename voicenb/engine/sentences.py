"""Cut a token stream into speakable chunks, so synthesis can start on the first one. Pure.

Chunks end at sentence ends; a run-on without one (small models love lists and commas) is cut at a
clause boundary once it is long enough, and hard-cut at a space when very long, so speech never
waits for the whole reply.
"""

from __future__ import annotations

import re

# A terminator followed by whitespace: at the end of the buffer "3." may still become "3.5".
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
_CLAUSE_END = re.compile(r"[,;:—]\s+")
_MIN_CHARS = 2
_NOT_SPOKEN = re.compile(r"[*#_`~|<>]+")


class SentenceSplitter:
    def __init__(self, clause_words: int = 8, max_words: int = 24) -> None:
        self.clause_words, self.max_words = clause_words, max_words
        self._buffer = ""
        self._carry = ""

    def feed(self, piece: str) -> list[str]:
        """Add streamed text; return the chunks it completed."""
        self._buffer += piece
        chunks = []
        while (end := self._next_cut()) is not None:
            chunk = (self._carry + self._buffer[:end]).strip()
            self._buffer = self._buffer[end:]
            if len(chunk) >= _MIN_CHARS:
                chunks.append(chunk)
                self._carry = ""
            else:  # a stray "." or newline: keep it with what follows
                self._carry = chunk + " " if chunk else ""
        return chunks

    def _next_cut(self) -> int | None:
        if match := _SENTENCE_END.search(self._buffer):
            return match.end()
        words = len(self._buffer.split())
        if words >= self.clause_words:
            clauses = list(_CLAUSE_END.finditer(self._buffer))
            if clauses:
                return clauses[-1].end()
        if words >= self.max_words and self._buffer[-1:].isspace():
            return len(self._buffer)
        return None

    def flush(self) -> str:
        rest, self._buffer, self._carry = (self._carry + self._buffer).strip(), "", ""
        return rest


def speakable(sentence: str) -> str:
    """Markdown and symbols a small model likes to emit, removed before synthesis."""
    return " ".join(_NOT_SPOKEN.sub(" ", sentence).split())
