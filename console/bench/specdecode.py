"""Speculative decoding's acceptance over a configuration's run, from the server's own counters (pure).

vLLM counts drafts and tokens in ``vllm:spec_decode_num_drafts_total``,
``…_num_draft_tokens_total`` and ``…_num_accepted_tokens_total`` (what ``vllm bench serve``
reads too); the difference between a scrape before and after the run gives the draft
acceptance rate and the mean acceptance length (tokens per target-model step: accepted per
draft, plus the one the target model adds).  A server without speculative decoding has no
such counters: no figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.servers.metrics import MetricsError, parse

DRAFTS = "vllm:spec_decode_num_drafts_total"
DRAFT_TOKENS = "vllm:spec_decode_num_draft_tokens_total"
ACCEPTED = "vllm:spec_decode_num_accepted_tokens_total"


@dataclass(frozen=True)
class SpecDecode:
    drafts: int
    draft_tokens: int
    accepted_tokens: int

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted_tokens / self.draft_tokens if self.draft_tokens else None

    @property
    def acceptance_length(self) -> float | None:
        return 1 + self.accepted_tokens / self.drafts if self.drafts else None


def counters(text: str) -> tuple[float, float, float] | None:
    """(drafts, draft tokens, accepted tokens) summed over engines; None without speculative decoding."""
    try:
        scrape = parse(text)
    except MetricsError:
        return None
    if not scrape.exposes(DRAFTS):
        return None
    return sum(scrape.values(DRAFTS)), sum(scrape.values(DRAFT_TOKENS)), sum(scrape.values(ACCEPTED))


def delta(before: str | None, after: str | None) -> SpecDecode | None:
    """What happened between two /metrics texts; None when either lacks the counters or nothing was drafted."""
    a = counters(before) if before else None
    b = counters(after) if after else None
    if a is None or b is None:
        return None
    drafts, draft_tokens, accepted = (round(y - x) for x, y in zip(a, b, strict=True))
    if drafts <= 0:
        return None
    return SpecDecode(drafts, draft_tokens, accepted)
