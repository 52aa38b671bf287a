"""Makes the torchvision ONNX fixtures and their onnxruntime reference logits.

Documentation of where the numbers in reference.json came from; the Swift tests do not run it.
Run from this folder with torch, torchvision, onnx, onnxscript and onnxruntime installed
(made with torch 2.13.0+cpu, torchvision 0.28, onnx 1.23.2, onnxscript 0.7.2, onnxruntime
1.32.0; torchvision's compiled ops are not needed, see the import below):

    python3 make_fixtures.py

It writes one small ONNX file per family, exporter and opset (`FAMILY-EXPORTER-opsetN.onnx`,
exported at a fixed batch of 1, which onnxruntime runs image by image), one per entry of
DYNAMIC_BATCH exported with a free batch (`...-dynamic-batch.onnx`, run at batch COUNT), and
reference.json: for each file, the logits onnxruntime computes for the input below.

Each family is a small version of the torchvision architecture, built from torchvision's own
classes (its blocks, stems and forward passes) with few channels and blocks, eval mode, 10
classes: He-initialized weights from a fixed seed, random norm scales and shifts, batch-norm
statistics of random images then moved and scaled at random.

Dynamo's files are saved without the per-node metadata_props it writes (module paths and FX
node text, no meaning to a runtime) so that they stay small.

Input: `COUNT` images of 32x32x3, NHWC, value i (flat NHWC index) = ((i * 7919 + 13) % 65521)
/ 65536, exact in float32; the model sees it transposed to NCHW.
"""

import importlib
import json
import os
import sys
import types

# torchvision's compiled ops are not needed for its model code.
sys.modules["torchvision._meta_registrations"] = types.ModuleType(
    "torchvision._meta_registrations")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torchvision.models import convnext, densenet, efficientnet  # noqa: E402
from torchvision.models import mnasnet, mobilenetv2, mobilenetv3, regnet  # noqa: E402
from torchvision.models import resnet, shufflenetv2, squeezenet  # noqa: E402
from torchvision.ops.misc import Conv2dNormActivation  # noqa: E402

# `torchvision.models.googlenet` is the function; the module holds the classes.
googlenet = importlib.import_module("torchvision.models.googlenet")

COUNT, HEIGHT, WIDTH, CHANNELS = 2, 32, 32, 3
EXPORTS = [("torchscript", 13), ("torchscript", 17), ("dynamo", 18), ("dynamo", 20)]
# Exported with a free batch dimension as well (`FAMILY-EXPORTER-opsetN-dynamic-batch.onnx`):
# the TorchScript exporter then computes the channel shuffle's shapes from `Shape` at run time.
DYNAMIC_BATCH = [("shufflenet_v2", "torchscript", 17)]


def images():
    index = np.arange(COUNT * HEIGHT * WIDTH * CHANNELS, dtype=np.int64)
    values = ((index * 7919 + 13) % 65521).astype(np.float32) / np.float32(65536)
    return values.reshape(COUNT, HEIGHT, WIDTH, CHANNELS).transpose(0, 3, 1, 2).copy()


def resnet18():
    model = resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
    model.inplanes = 4
    model.conv1 = nn.Conv2d(3, 4, kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(4)
    model.layer1 = model._make_layer(resnet.BasicBlock, 4, 1)
    model.layer2 = model._make_layer(resnet.BasicBlock, 8, 1, stride=2)
    model.layer3 = model._make_layer(resnet.BasicBlock, 8, 1, stride=2)
    model.layer4 = model._make_layer(resnet.BasicBlock, 8, 1, stride=2)
    model.fc = nn.Linear(8, 10)
    return model


def regnet_x_400mf():
    params = regnet.BlockParams.from_init_params(depth=3, w_0=8, w_a=8.0, w_m=2.0, group_width=4)
    return regnet.RegNet(params, num_classes=10, stem_width=8)


def mnasnet0_5():
    model = mnasnet.MNASNet(0.25, num_classes=10)
    stem = list(model.layers[:8])
    depths = mnasnet._get_depths(0.25)
    model.layers = nn.Sequential(
        *stem,
        mnasnet._stack(depths[1], depths[2], 3, 2, 3, 1, 0.0003),
        mnasnet._stack(depths[2], depths[3], 5, 2, 3, 2, 0.0003),
        nn.Conv2d(depths[3], 16, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
    )
    model.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(16, 10))
    return model


def mobilenet_v2():
    setting = [[1, 8, 1, 1], [4, 8, 2, 2], [4, 8, 1, 2]]
    model = mobilenetv2.MobileNetV2(num_classes=10, inverted_residual_setting=setting)
    model.features[-1] = Conv2dNormActivation(8, 16, kernel_size=1, activation_layer=nn.ReLU6)
    model.classifier[1] = nn.Linear(16, 10)
    return model


def mobilenet_v3_small():
    config = mobilenetv3.InvertedResidualConfig
    setting = [
        config(8, 3, 8, 8, True, "RE", 2, 1, 1.0),
        config(8, 3, 16, 8, False, "RE", 2, 1, 1.0),
        config(8, 5, 16, 8, True, "HS", 2, 1, 1.0),
        config(8, 5, 16, 8, True, "HS", 1, 1, 1.0),
    ]
    return mobilenetv3.MobileNetV3(setting, last_channel=16, num_classes=10)


def efficientnet_b0():
    config = efficientnet.MBConvConfig
    setting = [config(1, 3, 1, 8, 8, 1), config(4, 5, 2, 8, 8, 2)]
    return efficientnet.EfficientNet(setting, dropout=0.2, num_classes=10, last_channel=16)


def densenet121():
    return densenet.DenseNet(
        growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2, num_classes=10)


def googlenet_():
    model = googlenet.GoogLeNet(
        num_classes=10, aux_logits=False, transform_input=True, init_weights=False)
    conv = googlenet.BasicConv2d
    model.conv1 = conv(3, 8, kernel_size=7, stride=2, padding=3)
    model.conv2 = conv(8, 8, kernel_size=1)
    model.conv3 = conv(8, 12, kernel_size=3, padding=1)
    model.inception3a = googlenet.Inception(12, 4, 4, 8, 2, 4, 4)
    model.inception3b = googlenet.Inception(20, 4, 4, 8, 2, 4, 4)
    model.inception4a = googlenet.Inception(20, 8, 4, 8, 2, 4, 4)
    for name in ["inception4b", "inception4c", "inception4d", "inception4e", "inception5a",
                 "inception5b"]:
        setattr(model, name, nn.Identity())
    model.fc = nn.Linear(24, 10)
    return model


def squeezenet1_1():
    model = squeezenet.SqueezeNet(version="1_1", num_classes=10)
    fire = squeezenet.Fire
    model.features = nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=3, stride=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        fire(8, 4, 8, 8),
        fire(16, 4, 8, 8),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        fire(16, 4, 8, 8),
    )
    model.classifier[1] = nn.Conv2d(16, 10, kernel_size=1)
    return model


def shufflenet_v2():
    return shufflenetv2.ShuffleNetV2([1, 2, 1], [8, 8, 16, 16, 16], num_classes=10)


def convnext_tiny():
    config = convnext.CNBlockConfig
    return convnext.ConvNeXt([config(8, 12, 1), config(12, None, 1)], num_classes=10)


FAMILIES = {
    "resnet18": resnet18,
    "regnet_x_400mf": regnet_x_400mf,
    "mnasnet0_5": mnasnet0_5,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "efficientnet_b0": efficientnet_b0,
    "densenet121": densenet121,
    "googlenet": googlenet_,
    "squeezenet1_1": squeezenet1_1,
    "shufflenet_v2": shufflenet_v2,
    "convnext_tiny": convnext_tiny,
}


def randomized(model, generator):
    """Random weights, norm scales and statistics, so no normalization is the identity, while
    every layer's output still varies with the input: the batch-norm statistics are those of
    random images, then moved and scaled at random."""
    def uniform(tensor, low, high):
        tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)

    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for module in model.modules():
            # He initialization for every layer, so that the signal keeps its size through the
            # families without batch norm too (some draw their classifiers at a scale of 0.01,
            # which would leave the logits nearly constant).
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
                if module.bias is not None:
                    uniform(module.bias, -0.1, 0.1)
            if isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
                uniform(module.weight, 0.5, 1.5)
                uniform(module.bias, -0.5, 0.5)
            if isinstance(module, convnext.CNBlock):
                uniform(module.layer_scale, 0.5, 1.5)
        for module in norms:
            module.reset_running_stats()
            module.momentum = None
        model.train()
        model(torch.rand(16, CHANNELS, HEIGHT, WIDTH, generator=generator))
        for module in norms:
            spread = module.running_var.sqrt()
            module.running_mean += (torch.rand(spread.shape, generator=generator) - 0.5) * spread
            module.running_var *= torch.rand(spread.shape, generator=generator) + 0.5
    return model.eval()


def export(model, exporter, opset, dynamic, path):
    example = (torch.from_numpy(images()[:1]),)
    if exporter == "dynamo":
        shapes = ({0: torch.export.Dim("batch")},) if dynamic else None
        program = torch.onnx.export(
            model, example, dynamo=True, opset_version=opset, external_data=False,
            dynamic_shapes=shapes)
        # The per-node metadata (module paths, FX nodes) is most of the file's bytes and
        # means nothing to a runtime.
        proto = program.model_proto
        for node in proto.graph.node:
            del node.metadata_props[:]
        onnx.save(proto, path)
    else:
        names = {"input_names": ["x"], "dynamic_axes": {"x": {0: "batch"}}} if dynamic else {}
        torch.onnx.export(model, example, path, dynamo=False, opset_version=opset, **names)


def main():
    folder = os.path.dirname(os.path.abspath(__file__))
    x = images()
    reference = {}
    for family, make in FAMILIES.items():
        torch.manual_seed(0)
        model = randomized(make(), torch.Generator().manual_seed(1))
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        runs = [(exporter, opset, False) for exporter, opset in EXPORTS]
        runs += [(e, o, True) for f, e, o in DYNAMIC_BATCH if f == family]
        for exporter, opset, dynamic in runs:
            name = f"{family}-{exporter}-opset{opset}{'-dynamic-batch' if dynamic else ''}.onnx"
            path = os.path.join(folder, name)
            export(model, exporter, opset, dynamic, path)
            session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            input_name = session.get_inputs()[0].name
            batches = [x] if dynamic else [x[i:i + 1] for i in range(COUNT)]
            logits = np.concatenate([session.run(None, {input_name: b})[0] for b in batches])
            drift = np.abs(logits - expected).max()
            print(f"{name}: {os.path.getsize(path)} bytes, |onnxruntime - torch| {drift:.2e}")
            reference[name] = [float(v) for v in logits.reshape(-1)]
    with open(os.path.join(folder, "reference.json"), "w") as file:
        json.dump({"count": COUNT, "height": HEIGHT, "width": WIDTH, "channels": CHANNELS,
                   "logits": reference}, file, indent=1, sort_keys=True)
        file.write("\n")


if __name__ == "__main__":
    main()
