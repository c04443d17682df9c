"""Device placement: names, scopes, copies, and clear errors where a GPU is missing."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import backend


@pytest.mark.parametrize("name, canonical", [
    ("cpu", "cpu"), ("CPU:0", "cpu"), ("/device:CPU:0", "cpu"), ("gpu", "gpu:0"),
    ("GPU:1", "gpu:1"), ("/GPU:0", "gpu:0"), ("cuda:2", "gpu:2")])
def test_device_names_have_one_canonical_form(name, canonical):
    assert backend.canonical(name) == canonical


@pytest.mark.parametrize("name", ["tpu", "gpu:x", "", "cpu0"])
def test_unknown_device_names_are_refused_with_the_valid_forms(name):
    with pytest.raises(mt.DeviceError, match="use 'cpu', 'gpu' or 'gpu:N'"):
        backend.canonical(name)


def test_list_devices_starts_with_the_cpu():
    devices = mt.list_devices()
    assert devices[0] == "cpu"
    assert all(d.startswith("gpu:") for d in devices[1:])


def test_tensors_and_variables_are_created_on_the_scoped_device(device):
    expected = backend.canonical(device)
    assert mt.constant([1.0, 2.0]).device == expected
    assert mt.Variable(np.zeros(3)).device == expected
    assert mt.random.normal((2, 2)).device == expected
    assert mt.zeros((2,)).device == expected
    assert (mt.constant(1.0) * 2.0).device == expected


def test_explicit_device_argument_overrides_the_scope(device):
    assert mt.constant(1.0, device="cpu").device == "cpu"
    assert mt.Variable(1.0, device="cpu").device == "cpu"


def test_numpy_always_returns_a_host_array(device):
    x = mt.constant([1.5, 2.5])
    assert type(x.numpy()) is np.ndarray
    np.testing.assert_array_equal(np.asarray(x), [1.5, 2.5])


def test_to_cpu_of_a_cpu_tensor_is_the_same_tensor():
    x = mt.constant([1.0])
    assert x.to("cpu") is x


def _gpu_missing():
    return backend.gpu_count() == 0


@pytest.mark.skipif(not _gpu_missing(), reason="a GPU is present here")
def test_asking_for_a_gpu_without_one_says_what_is_missing():
    with pytest.raises(mt.DeviceError) as error:
        with mt.device("gpu"):
            pass
    message = str(error.value)
    assert "CuPy is not installed" in message or "GPU" in message
    assert "cpu" in message  # says what to do instead


@pytest.mark.skipif(not _gpu_missing(), reason="a GPU is present here")
def test_cpu_work_is_unaffected_by_a_failed_gpu_request():
    with pytest.raises(mt.DeviceError):
        mt.constant(1.0).to("gpu")
    assert backend.current_device() == "cpu"
    assert float(mt.constant(2.0) * 3.0) == 6.0


@pytest.mark.gpu
def test_ops_on_two_devices_raise_naming_both():
    a, b = mt.constant([1.0, 2.0]), mt.constant([1.0, 2.0], device="gpu")
    with pytest.raises(mt.DeviceError, match=r"add: .*cpu and gpu:0.*\.to\("):
        a + b


@pytest.mark.gpu
def test_gradients_flow_back_across_a_device_copy():
    x = mt.constant([1.0, 2.0, 3.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_sum(x.to("gpu") ** 2)
    grad = tape.gradient(y, x)
    assert grad.device == "cpu"
    np.testing.assert_allclose(grad.numpy(), [2.0, 4.0, 6.0])


@pytest.mark.gpu
def test_random_numbers_on_the_gpu_follow_the_global_seed():
    mt.random.set_seed(7)
    on_cpu = mt.random.normal((5,)).numpy()
    mt.random.set_seed(7)
    with mt.device("gpu"):
        on_gpu = mt.random.normal((5,)).numpy()
    np.testing.assert_array_equal(on_cpu, on_gpu)


@pytest.mark.gpu
def test_nested_tapes_work_on_the_gpu():
    with mt.device("gpu"):
        x = mt.Variable(3.0)
        with mt.GradientTape() as outer:
            with mt.GradientTape() as inner:
                y = x * x * x
            dy = inner.gradient(y, x)
        d2y = outer.gradient(dy, x)
    assert (float(dy), float(d2y), d2y.device) == (27.0, 18.0, "gpu:0")
