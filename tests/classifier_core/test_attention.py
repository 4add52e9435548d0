"""``encoder.attention``: short sequences computed with plain matmuls give the fused kernel's answer."""

import pytest
import torch
import torch.nn.functional as F

from classifier_core import encoder
from classifier_core.encoder import attention


def inputs(batch: int, length: int, dtype: torch.dtype, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(batch, length, 12, 32, generator=generator).transpose(1, 2).to(dtype) for _ in range(3))
    lengths = torch.randint(2, length + 1, (batch,), generator=generator)
    lengths[0] = length
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return q, k, v, mask


def kernel(q, k, v, mask):
    return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask[:, None, None, :])


@pytest.mark.parametrize("length", [3, 14, 16, 17, 32])
@pytest.mark.parametrize("batch", [4, 33])
def test_short_sequences_match_the_fused_kernel(batch: int, length: int):
    q, k, v, mask = inputs(batch, length, torch.float32)
    with torch.inference_mode():
        got = attention(q, k, v, mask)
    assert got.shape == q.shape and got.dtype == torch.float32
    torch.testing.assert_close(got, kernel(q, k, v, mask), atol=1e-5, rtol=1e-5)


def test_padding_keys_never_receive_attention():
    q, k, v, mask = inputs(8, 14, torch.float32)
    v_elsewhere = v.clone()
    v_elsewhere[~mask[:, None, :, None].expand_as(v)] = 1e6  # what masked positions hold must not matter
    with torch.inference_mode():
        torch.testing.assert_close(
            attention(q, k, v_elsewhere, mask)[mask[:, None, :, None].expand_as(v)], attention(q, k, v, mask)[mask[:, None, :, None].expand_as(v)]
        )


def test_bfloat16_computes_in_float32_and_answers_in_bfloat16():
    q, k, v, mask = inputs(16, 14, torch.bfloat16)
    with torch.inference_mode():
        got = attention(q, k, v, mask)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), kernel(q, k, v, mask), atol=1e-2, rtol=1e-2)  # bfloat16 rounding of the answer


def test_the_short_path_is_what_serving_takes(monkeypatch):
    """Serving (no grad, CPU, four texts and more, up to SHORT_ATTENTION tokens) does not call the kernel."""
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(encoder.F, "scaled_dot_product_attention", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    q, k, v, mask = inputs(4, encoder.SHORT_ATTENTION, torch.float32)
    with torch.inference_mode():
        attention(q, k, v, mask)
    assert calls == []
    q, k, v, mask = inputs(4, encoder.SHORT_ATTENTION + 1, torch.float32)
    with torch.inference_mode():
        attention(q, k, v, mask)
    attention(*inputs(4, 14, torch.float32))  # training (grad enabled) keeps the kernel
    assert len(calls) == 2
