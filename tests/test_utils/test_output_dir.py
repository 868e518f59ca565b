"""cityseg.utils.output_dir: a folder holding a user's files is never emptied or written over
(issue 23); a folder cityseg wrote before, holding nothing else, may be rewritten."""
from __future__ import annotations

from pathlib import Path

import pytest

from cityseg.utils.output_dir import (
    MANIFEST_NAME,
    OutputDirError,
    check_output_dir,
    claim_output_dir,
    record_output_dir,
)

KIND = 'evaluation report (tools/test.py --report)'


def _user_folder(path: Path) -> Path:
    path.mkdir()
    (path / 'notes.txt').write_text('mine')
    (path / 'README.md').write_text('mine too')
    (path / 'sub').mkdir()
    (path / 'sub' / 'data.csv').write_text('1,2')
    return path


def test_a_users_folder_is_refused_naming_it_and_its_files(tmp_path):
    out = _user_folder(tmp_path / 'out')
    for call in (check_output_dir, claim_output_dir):
        with pytest.raises(OutputDirError, match=rf'{out} holds files cityseg did not write '
                           r'\(README.md, notes.txt, sub/data.csv; .*move those files out'):
            call(out, KIND)
    assert sorted(p.name for p in out.rglob('*')) == ['README.md', 'data.csv', 'notes.txt', 'sub']


def test_a_file_at_the_path_is_refused(tmp_path):
    out = tmp_path / 'out'
    out.write_text('a file')
    with pytest.raises(OutputDirError, match=f'{out} is a file, not a folder'):
        claim_output_dir(out, KIND)
    assert out.read_text() == 'a file'


def test_an_empty_users_subfolder_counts_as_theirs(tmp_path):
    (tmp_path / 'out' / 'keep').mkdir(parents=True)
    with pytest.raises(OutputDirError, match=r'keep/'):
        claim_output_dir(tmp_path / 'out', KIND)


def test_an_earlier_output_is_rewritten_but_not_one_with_a_users_file(tmp_path):
    out = claim_output_dir(tmp_path / 'out', KIND)  # created, with an empty manifest
    (out / 'figures').mkdir()
    (out / 'figures' / 'confusion.png').write_bytes(b'png')
    (out / 'index.html').write_text('old page')
    record_output_dir(out, KIND)
    assert check_output_dir(out, KIND) == out
    claim_output_dir(out, KIND)  # the old output's files go; the new one is not mixed with it
    assert [p.name for p in out.iterdir()] == [MANIFEST_NAME]
    (out / 'index.html').write_text('new page')
    record_output_dir(out, KIND)
    (out / 'notes.txt').write_text('added by the user afterwards')
    with pytest.raises(OutputDirError, match=r'earlier evaluation report .* \(notes.txt\)'):
        claim_output_dir(out, KIND)
    assert (out / 'index.html').read_text() == 'new page'


def test_another_kind_of_output_is_refused(tmp_path):
    out = claim_output_dir(tmp_path / 'out', 'published model (tools/publish_model.py)')
    (out / 'config.json').write_text('{}')
    record_output_dir(out, 'published model (tools/publish_model.py)')
    with pytest.raises(OutputDirError, match=r'holds another kind of output, a published model'):
        claim_output_dir(out, KIND)


def test_an_interrupted_claim_can_be_claimed_again(tmp_path):
    out = claim_output_dir(tmp_path / 'out', KIND)  # the run dies before it writes anything
    assert claim_output_dir(out, KIND) == out


def test_a_broken_manifest_is_not_trusted(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / MANIFEST_NAME).write_text('{"kind": ')
    (out / 'index.html').write_text('someone else')
    with pytest.raises(OutputDirError, match='no valid .cityseg_output.json'):
        claim_output_dir(out, KIND)
