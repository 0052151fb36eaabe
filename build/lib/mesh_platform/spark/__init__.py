from mesh_platform.spark.resource import SparkResource, SparkUnavailable, create_session

__all__ = ["SparkResource", "SparkUnavailable", "create_session"]
