"""Splitting a video into frame ranges for workers, and checking that their seeks were exact.

Frame-accurate seeking with CAP_PROP_POS_FRAMES depends on codec and container (long-GOP
H.264, B-frames, MJPG, mp4v, missing timestamps, estimated frame counts), so a range plan is
only trusted when every boundary checks out: the first frame a worker decodes after seeking to
frame s must be the very frame (same timestamp, same pixels) that the previous worker decoded
sequentially as frame s. Otherwise the converter starts over with one sequential decode.
"""

MIN_CHUNK_FRAMES = 16  # below this a seek costs more than it saves
MAX_CHUNK_FRAMES = 4096  # bounds the text a worker holds (~10 MB at 80x30) on long videos


def plan_ranges(frame_count, workers):
    # type: (int, int) -> list
    """[(start, stop), ...] covering 0..frame_count; one range means: decode sequentially."""
    if workers <= 1 or frame_count < 2 * MIN_CHUNK_FRAMES:
        return [(0, frame_count)]
    chunks = max(workers, -(-frame_count // MAX_CHUNK_FRAMES))
    chunks = min(chunks, frame_count // MIN_CHUNK_FRAMES)
    bounds = [frame_count * i // chunks for i in range(chunks + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def check_boundary(previous, current, planned_previous):
    # type: (object, object, int) -> object
    """None if `current` starts exactly where `previous` ended, else the reason it does not.

    previous/current are worker.ChunkResult; planned_previous is the frame count the previous
    range should have had.
    """
    if previous.count != planned_previous:  # type: ignore
        return "a range ended early at frame %d (frame count overestimated)" % (
            previous.start + previous.count  # type: ignore
        )
    if current.first is None:  # type: ignore
        return "seeking to frame %d found no frame" % current.start  # type: ignore
    if current.first[0] <= 0:  # type: ignore
        return "frame %d has no timestamp after seeking" % current.start  # type: ignore
    if current.first != previous.following:  # type: ignore
        return "seeking to frame %d landed on a different frame" % current.start  # type: ignore
    return None
