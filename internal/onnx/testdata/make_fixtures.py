#!/usr/bin/python3
"""Makes internal/onnx's test fixtures, and the benchmark's ResNet-18.

    /usr/bin/python3 internal/onnx/testdata/make_fixtures.py            # fixtures, here
    /usr/bin/python3 internal/onnx/testdata/make_fixtures.py bench DIR  # resnet18/mobilenet_v3_small to DIR

Needs Debian's python3-torch 1.13 (and python3-onnx for the edited
fixtures). Fixtures are tiny conv nets with random (seeded) weights,
exported with torch.onnx.export(..., opset_version=13, dynamic batch axis);
expected.json holds PyTorch's probabilities for a batch of 7 inputs made
by the formula in inputs() (the Go test makes the same inputs).
"""
import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
S = 32  # fixtures' input size


def inputs(n, s):
    """x[i] = ((i*7919) % 2003)/1001.5 - 1 over the flattened n x 3 x s x s
    batch: exact integer arithmetic and one division, so Go computes the
    same float32 values."""
    i = torch.arange(n * 3 * s * s, dtype=torch.float64)
    x = torch.remainder(i * 7919, 2003) / 1001.5 - 1
    return x.float().reshape(n, 3, s, s)


class Tiny(nn.Module):
    """conv-bn-relu, conv-relu, global pool, and three heads or one of 18."""

    def __init__(self, heads, channels=3, flatten_fixed=None, clone=False):
        super().__init__()
        self.heads, self.clone = heads, clone
        self.body = nn.Sequential(
            nn.Conv2d(channels, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.flatten_fixed = flatten_fixed
        feat = 16 * flatten_fixed * flatten_fixed if flatten_fixed else 16
        if heads == 'three':
            self.mask, self.gender, self.age = nn.Linear(feat, 3), nn.Linear(feat, 2), nn.Linear(feat, 3)
        else:
            self.class18 = nn.Linear(feat, 18)
        with torch.no_grad():  # make BN do something
            bn = self.body[1]
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        f = self.body(x)
        if self.flatten_fixed:
            f = f.reshape(1, -1)  # a constant batch of 1: wrong on purpose
        else:
            f = f.mean((2, 3))
        if self.heads == 'three':
            m = self.mask(f)
            if self.clone:
                return m, self.gender(f), self.age(f), m.clone()
            return m, self.gender(f), self.age(f)
        return self.class18(f)


def export(model, path, outputs, s=S, opset=13, dynamic=True, channels=3, channel_axis=False):
    model.eval()
    dyn = {'input': {0: 'n', 1: 'c'} if channel_axis else {0: 'n'}}
    for o in outputs:
        dyn[o] = {0: 'n'}
    torch.onnx.export(model, torch.zeros(2 if dynamic else 1, channels, s, s), path, opset_version=opset,
                      input_names=['input'], output_names=outputs,
                      dynamic_axes=dyn if dynamic else None)


def probs(model, x, heads):
    """PyTorch's probabilities as facet's pred.Probs has them."""
    with torch.no_grad():
        if isinstance(model, nn.Module):
            model.eval()
        out = model(x)
    if heads == 'three':
        pm, pg, pa = (torch.softmax(o, 1).double() for o in out)
        c18 = torch.zeros(x.shape[0], 18, dtype=torch.float64)
        for c in range(18):
            c18[:, c] = pm[:, c // 6] * pg[:, (c // 3) % 2] * pa[:, c % 3]
    else:
        c18 = torch.softmax(out, 1).double()
        pm = torch.stack([c18[:, 6 * m:6 * m + 6].sum(1) for m in range(3)], 1)
        pg = torch.stack([c18[:, [c for c in range(18) if (c // 3) % 2 == g]].sum(1) for g in range(2)], 1)
        pa = torch.stack([c18[:, [c for c in range(18) if c % 3 == a]].sum(1) for a in range(3)], 1)
    r = lambda t: [[round(v, 9) for v in row] for row in t.tolist()]
    return {'mask': r(pm), 'gender': r(pg), 'age': r(pa), 'class18': r(c18)}


def config(heads, outputs, s=S, channels='rgb', **kw):
    c = {'format': 'facet-onnx/1', 'input_size': s, 'channels': channels,
         'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225],
         'input': 'input', 'heads': heads, 'outputs': outputs, 'arch': 'tiny'}
    c.update(kw)
    return c


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')


def fixtures():
    import onnx
    from onnx import helper

    three_out = {'mask': 'mask', 'gender': 'gender', 'age': 'age'}
    expected = {}
    x = inputs(7, S)

    torch.manual_seed(1)
    three = Tiny('three')
    export(three, f'{HERE}/three.onnx', ['mask', 'gender', 'age'])
    write_json(f'{HERE}/three.json', config('three', three_out, epoch=3, score=0.5))
    expected['three'] = probs(three, x, 'three')

    # The same net at opset 17 (the newest Load takes).
    export(three, f'{HERE}/opset17.onnx', ['mask', 'gender', 'age'], opset=17)
    write_json(f'{HERE}/opset17.json', config('three', three_out))
    expected['opset17'] = expected['three']

    torch.manual_seed(2)
    single = Tiny('single18')
    export(single, f'{HERE}/single18.onnx', ['logits'])
    write_json(f'{HERE}/single18.json', config('single18', {'class18': 'logits'}, channels='bgr', input=''))
    expected['single18'] = probs(single, x, 'single18')

    # Identity nodes: the exporter's own (mask also returned as a clone:
    # the Identity's input and output are both graph outputs), plus ones
    # edited in: one of an initializer (torch 1.13 emits those for
    # deduplicated constants, 16 in resnet18: the kind OpenCV 4.6
    # refuses), a chain of two in the middle of the body, and one whose
    # output is the graph output age.
    torch.manual_seed(3)
    ident = Tiny('three', clone=True)
    export(ident, f'{HERE}/identity.onnx', ['mask', 'gender', 'age', 'mask_copy'])
    m = onnx.load(f'{HERE}/identity.onnx')
    g = m.graph
    assert any(n.op_type == 'Identity' for n in g.node), 'torch emitted no Identity for clone()'
    relu = next(n for n in g.node if n.op_type == 'Relu')
    old = relu.output[0]
    relu.output[0] = old + '_pre'
    at = list(g.node).index(relu) + 1
    g.node.insert(at, helper.make_node('Identity', [old + '_pre'], [old + '_mid'], name='id_a'))
    g.node.insert(at + 1, helper.make_node('Identity', [old + '_mid'], [old], name='id_b'))
    conv = next(n for n in g.node if n.op_type == 'Conv')
    g.node.insert(0, helper.make_node('Identity', [conv.input[1]], [conv.input[1] + '_copy'], name='id_init'))
    conv.input[1] += '_copy'
    age = next(n for n in g.node if n.output[0] == 'age')
    age.output[0] = 'age_pre'
    g.node.append(helper.make_node('Identity', ['age_pre'], ['age'], name='id_out'))
    onnx.checker.check_model(m)
    onnx.save(m, f'{HERE}/identity.onnx')
    write_json(f'{HERE}/identity.json', config('three', {'mask': 'mask_copy', 'gender': 'gender', 'age': 'age'}))
    expected['identity'] = probs(lambda x: ident(x)[:3], x, 'three')

    # An op OpenCV 4.6 has no layer for (TopK), after a good head.
    class TopK(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = Tiny('three')

        def forward(self, x):
            m, g, a = self.net(x)
            return m.topk(3, dim=1)[0], g, a
    export(TopK(), f'{HERE}/unsupported.onnx', ['mask', 'gender', 'age'])
    write_json(f'{HERE}/unsupported.json', config('three', three_out))

    # One input plane where the config says three: declared in the graph's
    # input, and not declared (a symbolic channel axis), so that only the
    # test forward pass can tell.
    torch.manual_seed(4)
    gray = Tiny('three', channels=1)
    export(gray, f'{HERE}/gray.onnx', ['mask', 'gender', 'age'], channels=1)
    write_json(f'{HERE}/gray.json', config('three', three_out))
    export(gray, f'{HERE}/gray_undeclared.onnx', ['mask', 'gender', 'age'], channels=1, channel_axis=True)
    write_json(f'{HERE}/gray_undeclared.json', config('three', three_out))

    # A fixed batch of 1 (Reshape to [1, -1], no dynamic axes) and a fixed
    # 16 x 16 input: Load falls back to one image at a time.
    torch.manual_seed(5)
    fixed = Tiny('three', flatten_fixed=4)
    export(fixed, f'{HERE}/fixed.onnx', ['mask', 'gender', 'age'], s=16, dynamic=False)
    write_json(f'{HERE}/fixed.json', config('three', three_out, s=16))
    x16 = inputs(7, 16)
    rows = [probs(fixed, x16[i:i + 1], 'three') for i in range(7)]
    expected['fixed'] = {k: [r[k][0] for r in rows] for k in rows[0]}

    # opset 18, which Load refuses before OpenCV sees it.
    m = onnx.load(f'{HERE}/three.onnx')
    m.opset_import[0].version = 18
    onnx.save(m, f'{HERE}/opset18.onnx')
    write_json(f'{HERE}/opset18.json', config('three', three_out))

    write_json(f'{HERE}/expected.json', expected)


class ThreeHeads(nn.Module):
    """A torchvision classifier (random weights) whose last Linear layer is
    replaced by facet's mask, gender and age heads."""

    def __init__(self, arch):
        super().__init__()
        import torchvision
        self.body = torchvision.models.get_model(arch, weights=None)
        parent, name, last = None, None, None
        for mod in self.body.modules():
            for n, child in mod.named_children():
                if isinstance(child, nn.Linear):
                    parent, name, last = mod, n, child
        setattr(parent, name, nn.Identity())
        feat = last.in_features
        self.mask, self.gender, self.age = nn.Linear(feat, 3), nn.Linear(feat, 2), nn.Linear(feat, 3)

    def forward(self, x):
        f = self.body(x)
        return self.mask(f), self.gender(f), self.age(f)


def bench(out, archs, size=112, batches=(1, 3, 256)):
    """Writes ARCH.onnx and ARCH.json to out, and for each batch size b
    ARCH-b.in (the input, float32 b x 3 x size x size, from inputs()) and
    ARCH-b.probs (PyTorch's probabilities, float32 b x (3+2+3+18))."""
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    for arch in archs:
        torch.manual_seed(0)
        model = ThreeHeads(arch).eval()
        path = f'{out}/{arch}.onnx'
        export(model, path + '.tmp', ['mask', 'gender', 'age'], s=size)
        write_json(f'{out}/{arch}.json', config('three', {'mask': 'mask', 'gender': 'gender', 'age': 'age'}, s=size, arch=arch))
        for b in batches:
            x = inputs(b, size)
            p = probs(model, x, 'three')
            rows = torch.cat([torch.tensor(p[k], dtype=torch.float32) for k in ('mask', 'gender', 'age', 'class18')], 1)
            x.numpy().tofile(f'{out}/{arch}-{b}.in')
            rows.numpy().tofile(f'{out}/{arch}-{b}.probs')
        os.replace(path + '.tmp', path)  # last: its presence means all is there


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'bench':
        bench(sys.argv[2], sys.argv[3:] or ['resnet18'])
    elif len(sys.argv) == 1:
        fixtures()
    else:
        raise SystemExit(__doc__)
