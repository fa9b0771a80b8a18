"""Generated from grpc_predict_v2.proto by regenerate.py: do not edit.

The messages live in a private descriptor pool, so that this module imports
beside tritonclient.grpc or kserve, which register the same names globally.
"""

import base64

from google.protobuf import descriptor_pool, message_factory

POOL = descriptor_pool.DescriptorPool()
DESCRIPTOR = POOL.AddSerializedFile(
    base64.b64decode(
        "ChVncnBjX3ByZWRpY3RfdjIucHJvdG8SCWluZmVyZW5jZSITChFTZXJ2ZXJMaXZlUmVxdWVzdCIo"
        "ChJTZXJ2ZXJMaXZlUmVzcG9uc2USEgoEbGl2ZRgBIAEoCFIEbGl2ZSIUChJTZXJ2ZXJSZWFkeVJl"
        "cXVlc3QiKwoTU2VydmVyUmVhZHlSZXNwb25zZRIUCgVyZWFkeRgBIAEoCFIFcmVhZHkiQQoRTW9k"
        "ZWxSZWFkeVJlcXVlc3QSEgoEbmFtZRgBIAEoCVIEbmFtZRIYCgd2ZXJzaW9uGAIgASgJUgd2ZXJz"
        "aW9uIioKEk1vZGVsUmVhZHlSZXNwb25zZRIUCgVyZWFkeRgBIAEoCFIFcmVhZHkiFwoVU2VydmVy"
        "TWV0YWRhdGFSZXF1ZXN0ImYKFlNlcnZlck1ldGFkYXRhUmVzcG9uc2USEgoEbmFtZRgBIAEoCVIE"
        "bmFtZRIYCgd2ZXJzaW9uGAIgASgJUgd2ZXJzaW9uEh4KCmV4dGVuc2lvbnMYAyADKAlSCmV4dGVu"
        "c2lvbnMiRAoUTW9kZWxNZXRhZGF0YVJlcXVlc3QSEgoEbmFtZRgBIAEoCVIEbmFtZRIYCgd2ZXJz"
        "aW9uGAIgASgJUgd2ZXJzaW9uIs8CChVNb2RlbE1ldGFkYXRhUmVzcG9uc2USEgoEbmFtZRgBIAEo"
        "CVIEbmFtZRIaCgh2ZXJzaW9ucxgCIAMoCVIIdmVyc2lvbnMSGgoIcGxhdGZvcm0YAyABKAlSCHBs"
        "YXRmb3JtEkcKBmlucHV0cxgEIAMoCzIvLmluZmVyZW5jZS5Nb2RlbE1ldGFkYXRhUmVzcG9uc2Uu"
        "VGVuc29yTWV0YWRhdGFSBmlucHV0cxJJCgdvdXRwdXRzGAUgAygLMi8uaW5mZXJlbmNlLk1vZGVs"
        "TWV0YWRhdGFSZXNwb25zZS5UZW5zb3JNZXRhZGF0YVIHb3V0cHV0cxpWCg5UZW5zb3JNZXRhZGF0"
        "YRISCgRuYW1lGAEgASgJUgRuYW1lEhoKCGRhdGF0eXBlGAIgASgJUghkYXRhdHlwZRIUCgVzaGFw"
        "ZRgDIAMoA1IFc2hhcGUinQgKEU1vZGVsSW5mZXJSZXF1ZXN0Eh0KCm1vZGVsX25hbWUYASABKAlS"
        "CW1vZGVsTmFtZRIjCg1tb2RlbF92ZXJzaW9uGAIgASgJUgxtb2RlbFZlcnNpb24SDgoCaWQYAyAB"
        "KAlSAmlkEkwKCnBhcmFtZXRlcnMYBCADKAsyLC5pbmZlcmVuY2UuTW9kZWxJbmZlclJlcXVlc3Qu"
        "UGFyYW1ldGVyc0VudHJ5UgpwYXJhbWV0ZXJzEkUKBmlucHV0cxgFIAMoCzItLmluZmVyZW5jZS5N"
        "b2RlbEluZmVyUmVxdWVzdC5JbmZlcklucHV0VGVuc29yUgZpbnB1dHMSUQoHb3V0cHV0cxgGIAMo"
        "CzI3LmluZmVyZW5jZS5Nb2RlbEluZmVyUmVxdWVzdC5JbmZlclJlcXVlc3RlZE91dHB1dFRlbnNv"
        "clIHb3V0cHV0cxIsChJyYXdfaW5wdXRfY29udGVudHMYByADKAxSEHJhd0lucHV0Q29udGVudHMa"
        "zQIKEEluZmVySW5wdXRUZW5zb3ISEgoEbmFtZRgBIAEoCVIEbmFtZRIaCghkYXRhdHlwZRgCIAEo"
        "CVIIZGF0YXR5cGUSFAoFc2hhcGUYAyADKANSBXNoYXBlEl0KCnBhcmFtZXRlcnMYBCADKAsyPS5p"
        "bmZlcmVuY2UuTW9kZWxJbmZlclJlcXVlc3QuSW5mZXJJbnB1dFRlbnNvci5QYXJhbWV0ZXJzRW50"
        "cnlSCnBhcmFtZXRlcnMSOgoIY29udGVudHMYBSABKAsyHi5pbmZlcmVuY2UuSW5mZXJUZW5zb3JD"
        "b250ZW50c1IIY29udGVudHMaWAoPUGFyYW1ldGVyc0VudHJ5EhAKA2tleRgBIAEoCVIDa2V5Ei8K"
        "BXZhbHVlGAIgASgLMhkuaW5mZXJlbmNlLkluZmVyUGFyYW1ldGVyUgV2YWx1ZToCOAEa8wEKGklu"
        "ZmVyUmVxdWVzdGVkT3V0cHV0VGVuc29yEhIKBG5hbWUYASABKAlSBG5hbWUSZwoKcGFyYW1ldGVy"
        "cxgCIAMoCzJHLmluZmVyZW5jZS5Nb2RlbEluZmVyUmVxdWVzdC5JbmZlclJlcXVlc3RlZE91dHB1"
        "dFRlbnNvci5QYXJhbWV0ZXJzRW50cnlSCnBhcmFtZXRlcnMaWAoPUGFyYW1ldGVyc0VudHJ5EhAK"
        "A2tleRgBIAEoCVIDa2V5Ei8KBXZhbHVlGAIgASgLMhkuaW5mZXJlbmNlLkluZmVyUGFyYW1ldGVy"
        "UgV2YWx1ZToCOAEaWAoPUGFyYW1ldGVyc0VudHJ5EhAKA2tleRgBIAEoCVIDa2V5Ei8KBXZhbHVl"
        "GAIgASgLMhkuaW5mZXJlbmNlLkluZmVyUGFyYW1ldGVyUgV2YWx1ZToCOAEi3wUKEk1vZGVsSW5m"
        "ZXJSZXNwb25zZRIdCgptb2RlbF9uYW1lGAEgASgJUgltb2RlbE5hbWUSIwoNbW9kZWxfdmVyc2lv"
        "bhgCIAEoCVIMbW9kZWxWZXJzaW9uEg4KAmlkGAMgASgJUgJpZBJNCgpwYXJhbWV0ZXJzGAQgAygL"
        "Mi0uaW5mZXJlbmNlLk1vZGVsSW5mZXJSZXNwb25zZS5QYXJhbWV0ZXJzRW50cnlSCnBhcmFtZXRl"
        "cnMSSQoHb3V0cHV0cxgFIAMoCzIvLmluZmVyZW5jZS5Nb2RlbEluZmVyUmVzcG9uc2UuSW5mZXJP"
        "dXRwdXRUZW5zb3JSB291dHB1dHMSLgoTcmF3X291dHB1dF9jb250ZW50cxgGIAMoDFIRcmF3T3V0"
        "cHV0Q29udGVudHMa0AIKEUluZmVyT3V0cHV0VGVuc29yEhIKBG5hbWUYASABKAlSBG5hbWUSGgoI"
        "ZGF0YXR5cGUYAiABKAlSCGRhdGF0eXBlEhQKBXNoYXBlGAMgAygDUgVzaGFwZRJfCgpwYXJhbWV0"
        "ZXJzGAQgAygLMj8uaW5mZXJlbmNlLk1vZGVsSW5mZXJSZXNwb25zZS5JbmZlck91dHB1dFRlbnNv"
        "ci5QYXJhbWV0ZXJzRW50cnlSCnBhcmFtZXRlcnMSOgoIY29udGVudHMYBSABKAsyHi5pbmZlcmVu"
        "Y2UuSW5mZXJUZW5zb3JDb250ZW50c1IIY29udGVudHMaWAoPUGFyYW1ldGVyc0VudHJ5EhAKA2tl"
        "eRgBIAEoCVIDa2V5Ei8KBXZhbHVlGAIgASgLMhkuaW5mZXJlbmNlLkluZmVyUGFyYW1ldGVyUgV2"
        "YWx1ZToCOAEaWAoPUGFyYW1ldGVyc0VudHJ5EhAKA2tleRgBIAEoCVIDa2V5Ei8KBXZhbHVlGAIg"
        "ASgLMhkuaW5mZXJlbmNlLkluZmVyUGFyYW1ldGVyUgV2YWx1ZToCOAEi1wEKDkluZmVyUGFyYW1l"
        "dGVyEh8KCmJvb2xfcGFyYW0YASABKAhIAFIJYm9vbFBhcmFtEiEKC2ludDY0X3BhcmFtGAIgASgD"
        "SABSCmludDY0UGFyYW0SIwoMc3RyaW5nX3BhcmFtGAMgASgJSABSC3N0cmluZ1BhcmFtEiMKDGRv"
        "dWJsZV9wYXJhbRgEIAEoAUgAUgtkb3VibGVQYXJhbRIjCgx1aW50NjRfcGFyYW0YBSABKARIAFIL"
        "dWludDY0UGFyYW1CEgoQcGFyYW1ldGVyX2Nob2ljZSLDAgoTSW5mZXJUZW5zb3JDb250ZW50cxIj"
        "Cg1ib29sX2NvbnRlbnRzGAEgAygIUgxib29sQ29udGVudHMSIQoMaW50X2NvbnRlbnRzGAIgAygF"
        "UgtpbnRDb250ZW50cxIlCg5pbnQ2NF9jb250ZW50cxgDIAMoA1INaW50NjRDb250ZW50cxIjCg11"
        "aW50X2NvbnRlbnRzGAQgAygNUgx1aW50Q29udGVudHMSJwoPdWludDY0X2NvbnRlbnRzGAUgAygE"
        "Ug51aW50NjRDb250ZW50cxIjCg1mcDMyX2NvbnRlbnRzGAYgAygCUgxmcDMyQ29udGVudHMSIwoN"
        "ZnA2NF9jb250ZW50cxgHIAMoAVIMZnA2NENvbnRlbnRzEiUKDmJ5dGVzX2NvbnRlbnRzGAggAygM"
        "Ug1ieXRlc0NvbnRlbnRzMvwDChRHUlBDSW5mZXJlbmNlU2VydmljZRJLCgpTZXJ2ZXJMaXZlEhwu"
        "aW5mZXJlbmNlLlNlcnZlckxpdmVSZXF1ZXN0Gh0uaW5mZXJlbmNlLlNlcnZlckxpdmVSZXNwb25z"
        "ZSIAEk4KC1NlcnZlclJlYWR5Eh0uaW5mZXJlbmNlLlNlcnZlclJlYWR5UmVxdWVzdBoeLmluZmVy"
        "ZW5jZS5TZXJ2ZXJSZWFkeVJlc3BvbnNlIgASSwoKTW9kZWxSZWFkeRIcLmluZmVyZW5jZS5Nb2Rl"
        "bFJlYWR5UmVxdWVzdBodLmluZmVyZW5jZS5Nb2RlbFJlYWR5UmVzcG9uc2UiABJXCg5TZXJ2ZXJN"
        "ZXRhZGF0YRIgLmluZmVyZW5jZS5TZXJ2ZXJNZXRhZGF0YVJlcXVlc3QaIS5pbmZlcmVuY2UuU2Vy"
        "dmVyTWV0YWRhdGFSZXNwb25zZSIAElQKDU1vZGVsTWV0YWRhdGESHy5pbmZlcmVuY2UuTW9kZWxN"
        "ZXRhZGF0YVJlcXVlc3QaIC5pbmZlcmVuY2UuTW9kZWxNZXRhZGF0YVJlc3BvbnNlIgASSwoKTW9k"
        "ZWxJbmZlchIcLmluZmVyZW5jZS5Nb2RlbEluZmVyUmVxdWVzdBodLmluZmVyZW5jZS5Nb2RlbElu"
        "ZmVyUmVzcG9uc2UiAGIGcHJvdG8z"
    )
)
_MESSAGES = DESCRIPTOR.message_types_by_name
ServerLiveRequest = message_factory.GetMessageClass(_MESSAGES["ServerLiveRequest"])
ServerLiveResponse = message_factory.GetMessageClass(_MESSAGES["ServerLiveResponse"])
ServerReadyRequest = message_factory.GetMessageClass(_MESSAGES["ServerReadyRequest"])
ServerReadyResponse = message_factory.GetMessageClass(_MESSAGES["ServerReadyResponse"])
ModelReadyRequest = message_factory.GetMessageClass(_MESSAGES["ModelReadyRequest"])
ModelReadyResponse = message_factory.GetMessageClass(_MESSAGES["ModelReadyResponse"])
ServerMetadataRequest = message_factory.GetMessageClass(_MESSAGES["ServerMetadataRequest"])
ServerMetadataResponse = message_factory.GetMessageClass(_MESSAGES["ServerMetadataResponse"])
ModelMetadataRequest = message_factory.GetMessageClass(_MESSAGES["ModelMetadataRequest"])
ModelMetadataResponse = message_factory.GetMessageClass(_MESSAGES["ModelMetadataResponse"])
ModelInferRequest = message_factory.GetMessageClass(_MESSAGES["ModelInferRequest"])
ModelInferResponse = message_factory.GetMessageClass(_MESSAGES["ModelInferResponse"])
InferParameter = message_factory.GetMessageClass(_MESSAGES["InferParameter"])
InferTensorContents = message_factory.GetMessageClass(_MESSAGES["InferTensorContents"])
