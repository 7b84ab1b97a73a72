"""Cut a token stream into speakable chunks, so synthesis can start on the first one. Pure.

Chunks end at sentence ends; a run-on without one (small models love lists and commas) is cut at a
clause boundary once it is long enough, and hard-cut at a space when very long, so speech never
waits for the whole reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# A terminator followed by whitespace: at the end of the buffer "3." may still become "3.5".
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
_CLAUSE_END = re.compile(r"[,;:—]\s+")
_MIN_CHARS = 2
_NOT_SPOKEN = re.compile(r"[*#_`~|<>]+")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"')\]]*$")


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

    @property
    def buffered(self) -> int:
        """Characters fed that no chunk holds yet."""
        return len(self._buffer)

    def flush(self) -> str:
        rest, self._buffer, self._carry = (self._carry + self._buffer).strip(), "", ""
        return rest


def ends_sentence(chunk: str) -> bool:
    """Whether a chunk ends a sentence (a clause cut at a comma does not)."""
    return bool(_ENDS_SENTENCE.search(chunk.rstrip()))


def reply_budget(tokens: int) -> int:
    """The model's hard cap for a reply of about ``tokens``: room to finish the sentence under way."""
    return tokens + max(16, tokens // 2)


def reply_chunks(pieces: Iterable[str], *, tokens: int, sentences: int, spoken: bool) -> Iterator[str]:
    """What a reply emits, so that it ends at a sentence end: the pieces as they stream (text) or the
    speakable chunks (``spoken``), until ``sentences`` whole sentences are out, or the first sentence
    end once ``tokens`` pieces have streamed. The model runs under `reply_budget` (``tokens``); a
    reply cut by that cap mid-sentence does not speak its unfinished tail, unless nothing else was."""
    splitter, streamed, ended, said = SentenceSplitter(), 0, 0, 0
    written, out = "", 0  # text: what streamed, and how much of it is out
    for piece in pieces:
        streamed += 1
        done = False
        for chunk in splitter.feed(piece):
            if spoken:
                yield chunk
            said += 1
            ended += ends_sentence(chunk)
            if done := ended >= sentences or (streamed >= tokens and ends_sentence(chunk)):
                break
        if not spoken:
            written += piece
            upto = len(written) - splitter.buffered if done else len(written)
            if text := written[out:upto] if not done else written[out:upto].rstrip():
                yield text
            out = upto
        if done:
            return
    rest = splitter.flush()
    if spoken and rest and (streamed < reply_budget(tokens) or ends_sentence(rest) or not said):
        yield rest


def speakable(sentence: str) -> str:
    """Markdown and symbols a small model likes to emit, removed before synthesis."""
    return " ".join(_NOT_SPOKEN.sub(" ", sentence).split())
