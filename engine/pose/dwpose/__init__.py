"""DWPose on ONNX Runtime: the pose extractor the released TalkingPose weights were trained with.

``detector`` (YOLOX persons), ``wholebody`` (crop, SimCC, our keypoint layout), ``sessions``
(ONNX Runtime, signature checks, providers) and ``backend`` (frames -> poses). Importing this
package does not import onnxruntime; opening a backend does.
"""

from engine.pose.dwpose.backend import EXTRACTOR_VERSION, DWPoseBackend
from engine.pose.dwpose.sessions import DETECTOR_FILE, POSE_FILE

__all__ = ["DETECTOR_FILE", "EXTRACTOR_VERSION", "POSE_FILE", "DWPoseBackend"]
