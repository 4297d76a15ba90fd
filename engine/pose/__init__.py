"""Driving motion: keypoints, extraction (MediaPipe Holistic), drawing, smoothing, alignment."""
