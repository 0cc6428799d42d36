"""What a video file holds: probing it and decoding its frames, through PyAV.

`probe` reads a video's table of frames (the presentation time of each, in
order), its rate, size, rotation, codec and container, and says whether a
browser can play it; `frames` decodes chosen frames to RGB pixels, numbered
as the probe numbers them, and encodes pixels as PNG, JPEG or WebP. Both
speak to FFmpeg's libraries through PyAV (no subprocess per frame, no
Pillow). Nothing here knows the receiver's settings, files or HTTP.

Its modules are imported where they are used (`receiver.media.probe`,
`receiver.media.frames`): importing the package loads neither PyAV nor numpy.

May import: nothing of the receiver.
"""


