import pytest

from docconvert_nb.protocols import aspose, convertapi, groupdocs, onlineconvert
from docconvert_nb.status import Availability, JobStatus


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Pending", JobStatus.QUEUED),
        ("Processing", JobStatus.PROCESSING),
        ("Completed", JobStatus.COMPLETED),
        ("Error", JobStatus.FAILED),
        ("NotExist", JobStatus.EXPIRED),
    ],
)
def test_aspose_task_statuses(value, expected):
    assert aspose.from_task_status(value) is expected


def test_aspose_rejects_wrong_case_like_the_sdk():
    with pytest.raises(ValueError):
        aspose.from_task_status("completed")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Created", JobStatus.QUEUED),
        ("Started", JobStatus.PROCESSING),
        ("Finished", JobStatus.COMPLETED),
        ("Failed", JobStatus.FAILED),
        ("Canceled", JobStatus.CANCELED),
        ("4", JobStatus.COMPLETED),  # the SDK accepts enum indexes
        (2, JobStatus.FAILED),
    ],
)
def test_groupdocs_statuses(value, expected):
    assert groupdocs.from_operation_status(value) is expected


@pytest.mark.parametrize(
    "code, expected",
    [(200, JobStatus.COMPLETED), (202, JobStatus.PROCESSING), (404, JobStatus.EXPIRED), (500, JobStatus.FAILED), (502, JobStatus.FAILED), (503, None)],
)
def test_convertapi_http_codes(code, expected):
    assert convertapi.from_poll_status(code) is expected


def test_convertapi_unexpected_code_is_an_error():
    with pytest.raises(ValueError):
        convertapi.from_poll_status(301)


@pytest.mark.parametrize("code", list(onlineconvert.JOB_STATUS))
def test_onlineconvert_job_codes_map(code):
    assert isinstance(onlineconvert.from_job_status(code), JobStatus)


def test_onlineconvert_unknown_code_is_not_terminal():
    assert not onlineconvert.from_job_status("brand-new-state").is_terminal


@pytest.mark.parametrize(
    "value, expected",
    [("enabled", Availability.AVAILABLE), ("disabled", Availability.DELETED), ("expired", Availability.EXPIRED), ("overuse", Availability.LIMIT_REACHED)],
)
def test_onlineconvert_output_statuses(value, expected):
    assert onlineconvert.from_output_status(value) is expected


def test_status_module_keeps_only_the_state_machine():
    import docconvert_nb.status as status

    assert not [name for name in vars(status) if name.startswith(("from_", "ASPOSE", "GROUPDOCS", "ONLINECONVERT"))]


def test_every_vocabulary_word_has_a_state():
    assert set(aspose.RESPONSE_STATUS_CODES) == set(aspose.TASK_STATUS)
    assert set(onlineconvert.STATUS_INFO) == set(onlineconvert.JOB_STATUS)
    assert all(isinstance(state, JobStatus) for state in groupdocs.OPERATION_STATUS.values())


def test_terminal_states_are_final():
    terminal = [s for s in JobStatus if s.is_terminal]
    active = [s for s in JobStatus if not s.is_terminal]
    assert set(active) == {JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.PROCESSING}
    for done in terminal:
        for running in active:
            assert not done.can_become(running), (done, running)
    assert not JobStatus.FAILED.can_become(JobStatus.COMPLETED)
    assert not JobStatus.COMPLETED.can_become(JobStatus.FAILED)
    # results can still go away after the work ended
    assert JobStatus.COMPLETED.can_become(JobStatus.EXPIRED)
    assert JobStatus.COMPLETED.can_become(JobStatus.DELETED)
    assert not JobStatus.DELETED.can_become(JobStatus.EXPIRED)


def test_active_states_only_move_forward():
    assert JobStatus.QUEUED.can_become(JobStatus.PROCESSING)
    assert not JobStatus.PROCESSING.can_become(JobStatus.QUEUED)
    assert JobStatus.SUBMITTING.can_become(JobStatus.COMPLETED)


def test_every_state_has_a_description():
    assert all(s.description for s in JobStatus)
    assert str(JobStatus.COMPLETED) == "completed"
