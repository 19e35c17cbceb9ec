#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "../ops/test_util.h"
#include "onnx/onnx_pb.h"
#include "onyx/core/file_util.h"
#include "onyx/data/idx.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("onyx_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

const char* kTestData = "/usr/share/libonnx-testdata/data";

TEST(ModelIo, RoundTripIsLossless) {
  // A model with subgraphs (If), attributes of many kinds and doc strings.
  for (const char* name :
       {"node/test_if", "node/test_loop11", "node/test_conv_with_strides_padding",
        "pytorch-converted/test_ConvTranspose2d", "simple/test_gradient_of_add"}) {
    std::string path = std::string(kTestData) + "/" + name + "/model.onnx";
    if (!fs::exists(path)) continue;
    std::string original = read_file(path);
    onnx::ModelProto a, b;
    ASSERT_TRUE(a.ParseFromString(original));
    ir::Model m = onnx_io::load_model(path);
    ASSERT_TRUE(b.ParseFromString(onnx_io::serialize_model(m)));
    // Initializers are re-encoded as raw_data; compare after normalising them the same way.
    onnx_io::model_to_proto(onnx_io::model_from_proto(a, "", path), &a);
    EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString()) << name;
  }
}

TEST(ModelIo, UnknownFieldsSurvive) {
  onnx::ModelProto p;
  p.set_ir_version(10);
  auto* op = p.add_opset_import();
  op->set_version(17);
  p.mutable_graph()->set_name("g");
  // Field 99 of ModelProto is unknown to this protobuf version.
  p.mutable_unknown_fields()->AddVarint(99, 12345);
  std::string bytes = p.SerializeAsString();
  ir::Model m = onnx_io::load_model_from_bytes(bytes, "", "mem");
  EXPECT_EQ(m.ir_version, 10);
  onnx::ModelProto back;
  ASSERT_TRUE(back.ParseFromString(onnx_io::serialize_model(m)));
  ASSERT_EQ(back.unknown_fields().field_count(), 1);
  EXPECT_EQ(back.unknown_fields().field(0).varint(), 12345u);
}

// Every IR version from 3 to 13 loads, runs and saves; IR 11's multi-device fields (unknown
// to Debian's protobuf classes: ModelProto.configuration = 26, NodeProto.
// device_configurations = 10) come back byte for byte; IR 14 is refused by name.
TEST(ModelIo, IrVersions3To13LoadAndRoundTrip) {
  onnx::ModelProto base;
  ASSERT_TRUE(
      base.ParseFromString(read_file(std::string(kTestData) + "/node/test_abs/model.onnx")));
  for (int64_t v = 3; v <= 14; ++v) {
    onnx::ModelProto p = base;
    p.set_ir_version(v);
    if (v >= 11) {
      // configuration {name: "d0", num_devices: 2}; device_configurations {configuration_id: "d0"}
      const std::string config{'\x0a', '\x02', 'd', '0', '\x10', '\x02'},
          node{'\x0a', '\x02', 'd', '0'};
      p.mutable_unknown_fields()->AddLengthDelimited(26, config);
      p.mutable_graph()->mutable_node(0)->mutable_unknown_fields()->AddLengthDelimited(10, node);
    }
    std::string bytes = p.SerializeAsString();
    if (v == 14) {
      try {
        onnx_io::load_model_from_bytes(bytes, "", "ir14.onnx");
        FAIL() << "IR 14 loaded";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
        EXPECT_NE(std::string(e.what()).find("IR version 14 is newer than onyx supports (3 to 13)"),
                  std::string::npos)
            << e.what();
      }
      continue;
    }
    ir::Model m = onnx_io::load_model_from_bytes(bytes, "", "mem");
    EXPECT_EQ(m.ir_version, v);
    runtime::Session s(m);
    Tensor x = Tensor::from_vector<float>({3, 4, 5}, std::vector<float>(60, -2.0f));
    EXPECT_EQ(s.run({{"x", x}})[0].tensor().element_as_double(7), 2.0) << "IR " << v;
    onnx::ModelProto back;
    ASSERT_TRUE(back.ParseFromString(onnx_io::serialize_model(m)));
    EXPECT_EQ(back.SerializeAsString(), bytes) << "IR " << v << " round trip";
  }
}

TEST(ModelIo, GarbageAndTruncatedFilesAreInvalidModel) {
  TempDir dir;
  std::string good = read_file(std::string(kTestData) + "/node/test_abs/model.onnx");
  write_file_atomic(dir.file("trunc.onnx"), good.substr(0, good.size() / 2));
  write_file_atomic(dir.file("garbage.onnx"), std::string("\xff\xff\xff\xff garbage", 13));
  for (const char* f : {"trunc.onnx", "garbage.onnx"}) {
    try {
      onnx_io::load_model(dir.file(f));
      FAIL() << f;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidModel) << e.what();
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
  }
  try {
    onnx_io::load_model(dir.file("missing.onnx"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
  }
}

// Builds a model whose initializer W lives in external data at `location`.
std::string model_with_external(const std::string& location, int64_t offset, int64_t length) {
  onnx::ModelProto p;
  p.set_ir_version(8);
  p.add_opset_import()->set_version(17);
  auto* g = p.mutable_graph();
  g->set_name("g");
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  if (length >= 0) add("length", std::to_string(length));
  auto* n = g->add_node();
  n->set_op_type("Identity");
  n->add_input("W");
  n->add_output("Y");
  g->add_output()->set_name("Y");
  return p.SerializeAsString();
}

// `depth` If nodes, each with the next one in its then-branch; the innermost returns x.
ir::Model nested_ifs(int depth) {
  auto branch = [](const std::string& op, const std::string& in, const std::string& out) {
    auto g = std::make_shared<ir::Graph>();
    g->name = "branch_" + out;
    ir::Node n;
    n.op_type = op;
    n.inputs = {in};
    n.outputs = {out};
    g->nodes.push_back(n);
    g->outputs.push_back({out, {}, ""});
    return g;
  };
  std::shared_ptr<ir::Graph> then_branch = branch("Identity", "x", "y0");
  for (int d = 1; d <= depth; ++d) {
    auto g = branch("If", "c", "y" + std::to_string(d));
    ir::Attribute t, e;
    t.name = "then_branch", t.type = ir::AttrType::Graph, t.g = then_branch;
    e.name = "else_branch", e.type = ir::AttrType::Graph,
    e.g = branch("Neg", "x", "n" + std::to_string(d));
    g->nodes[0].attributes = {t, e};
    then_branch = g;
  }
  ir::Model m;
  m.set_opset("", 17);
  m.graph = then_branch;
  m.graph->inputs = {{"c", ir::TypeInfo::tensor(DType::Bool, std::vector<int64_t>{}), ""},
                     {"x", ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{2}), ""}};
  return m;
}

// Subgraphs nest as deep as protobuf parses (its limit of 100 messages is about 33 If
// levels); deeper files are refused with a message that says so, not as garbage.
TEST(ModelIo, SubgraphsNestAsDeepAsProtobufAllows) {
  ir::Model m =
      onnx_io::load_model_from_bytes(onnx_io::serialize_model(nested_ifs(20)), "", "nested.onnx");
  runtime::Session s(std::move(m));
  Tensor x = Tensor::from_vector<float>({2}, {1.5f, -2.0f});
  auto out = s.run({{"c", Tensor::scalar(true)}, {"x", x}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tensor().data<float>()[1], -2.0f);
  out = s.run({{"c", Tensor::scalar(false)}, {"x", x}});
  EXPECT_EQ(out[0].tensor().data<float>()[1], 2.0f);
  try {
    onnx_io::load_model_from_bytes(onnx_io::serialize_model(nested_ifs(40)), "", "deep.onnx");
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(std::string(e.what()).find("nested deeper than protobuf's limit"), std::string::npos)
        << e.what();
  }
}

TEST(ModelIo, ExternalDataLoadsInsideTheModelDirectory) {
  TempDir dir;
  float data[3] = {0, 1.5f, -2.0f};
  write_file_atomic(dir.file("weights.bin"),
                    std::string(reinterpret_cast<char*>(data), sizeof data));
  write_file_atomic(dir.file("m.onnx"), model_with_external("weights.bin", 4, 8));
  ir::Model m = onnx_io::load_model(dir.file("m.onnx"));
  EXPECT_EQ(m.graph->initializers[0].value.to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
}

// FIFOs where files are expected (the model, its external data, a .npy, an IDX set) are
// refused with an error naming them: opening one for reading would wait for a writer.
TEST(ModelIo, FifosAreRefusedNotWaitedOn) {
  TempDir dir;
  for (const char* name : {"m.onnx", "weights.bin", "x.npy", "images.idx"})
    ASSERT_EQ(::mkfifo(dir.file(name).c_str(), 0600), 0) << name;
  auto expect_refused = [&](const char* name, const std::function<void()>& read) {
    try {
      read();
      FAIL() << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Io) << e.what();
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  expect_refused("m.onnx", [&] { onnx_io::load_model(dir.file("m.onnx")); });
  expect_refused("x.npy", [&] { onnx_io::load_npy(dir.file("x.npy")); });
  expect_refused("images.idx", [&] { data::read_idx(dir.file("images.idx")); });
  write_file_atomic(dir.file("ext.onnx"), model_with_external("weights.bin", 0, 8));
  expect_refused("weights.bin", [&] { onnx_io::load_model(dir.file("ext.onnx")); });
}

TEST(ModelIo, ExternalDataEscapesAreRefused) {
  TempDir dir;
  fs::create_directories(dir.path() / "model");
  float data[2] = {1, 2};
  write_file_atomic(dir.file("outside.bin"),
                    std::string(reinterpret_cast<char*>(data), sizeof data));
  fs::create_symlink(dir.path() / "outside.bin", dir.path() / "model" / "link.bin");
  struct Case {
    std::string location;
    int64_t offset, length;
  };
  for (const Case& c :
       {Case{"../outside.bin", 0, 8}, Case{dir.file("outside.bin"), 0, 8}, Case{"link.bin", 0, 8},
        Case{"sub/../../outside.bin", 0, 8}, Case{"missing.bin", 0, 8}}) {
    std::string path = (dir.path() / "model" / "m.onnx").string();
    write_file_atomic(path, model_with_external(c.location, c.offset, c.length));
    try {
      onnx_io::load_model(path);
      FAIL() << c.location;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'W'"), std::string::npos) << e.what();
    }
  }
  // Offset or length past the end of the file.
  write_file_atomic(dir.file("w.bin"), std::string(reinterpret_cast<char*>(data), sizeof data));
  write_file_atomic(dir.file("m2.onnx"), model_with_external("w.bin", 4, 8));
  EXPECT_THROW(onnx_io::load_model(dir.file("m2.onnx")), Error);
}

TEST(ValueFiles, NpyRoundTrip) {
  TempDir dir;
  Tensor t = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  onnx_io::save_npy(t, dir.file("a.npy"));
  Tensor back = onnx_io::load_npy(dir.file("a.npy"));
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(back.to_vector<float>(), t.to_vector<float>());
  write_file_atomic(dir.file("bad.npy"), "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'");
  EXPECT_THROW(onnx_io::load_npy(dir.file("bad.npy")), Error);
}

// Bool bytes other than 0 and 1 are refused (reading them as bool is undefined behaviour).
TEST(ValueFiles, NpyBoolBytesMustBeZeroOrOne) {
  TempDir dir;
  Tensor b = Tensor::from_vector<bool>({3}, {true, false, true});
  onnx_io::save_npy(b, dir.file("b.npy"));
  EXPECT_EQ(onnx_io::load_npy(dir.file("b.npy")).to_vector<bool>(),
            (std::vector<bool>{true, false, true}));
  std::string bytes = read_file(dir.file("b.npy"), 1 << 20);
  bytes[bytes.size() - 2] = '\x07';
  write_file_atomic(dir.file("b7.npy"), bytes);
  try {
    onnx_io::load_npy(dir.file("b7.npy"));
    FAIL() << "byte 7 read as bool";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bool element 1 is byte 7"), std::string::npos)
        << e.what();
  }
}

// Shapes are parsed as tuples of sizes and counted against the data before anything is
// allocated: every bad one gets an error naming the file, none reaches the allocator.
TEST(ValueFiles, NpyShapesAreCheckedBeforeAllocating) {
  auto npy = [](const std::string& shape, size_t data_bytes) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + std::string(data_bytes, '\0');
  };
  EXPECT_EQ(onnx_io::parse_npy(npy("(2, 3)", 24), "ok.npy").shape(), (Shape{2, 3}));
  EXPECT_EQ(onnx_io::parse_npy(npy("(3,)", 12), "ok.npy").shape(), (Shape{3}));
  EXPECT_EQ(onnx_io::parse_npy(npy("()", 4), "ok.npy").shape(), (Shape{}));
  EXPECT_EQ(onnx_io::parse_npy(npy("(2L, 0)", 0), "ok.npy").shape(), (Shape{2, 0}));
  for (const char* bad : {"", "3", "(", "(-1, 2)", "(2,,3)", "(1e3)", "(99999999999999999999)",
                          "(4294967296, 4294967296, 4294967296)", "(1000000000, 1000000000)"}) {
    try {
      onnx_io::parse_npy(npy(bad, 8), "bad.npy");
      ADD_FAILURE() << "shape " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.npy"), std::string::npos) << e.what();
    }
  }
}

TEST(ValueFiles, PbRoundTripAndSequences) {
  TempDir dir;
  Tensor t = Tensor::from_vector<int64_t>({3}, {1, -2, 3});
  onnx_io::save_value_pb(t, "x", dir.file("x.pb"));
  Value v = onnx_io::load_value_file(dir.file("x.pb"));
  EXPECT_EQ(v.tensor().to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
  Value seq = Value::sequence({Value(t), Value(t)});
  onnx_io::save_value_pb(seq, "s", dir.file("s.pb"));
  ir::TypeInfo hint;
  hint.kind = ir::TypeInfo::Kind::Sequence;
  Value s2 = onnx_io::load_value_file(dir.file("s.pb"), &hint);
  ASSERT_TRUE(s2.is_sequence());
  EXPECT_EQ(s2.items().size(), 2u);
}

TEST(ValueFiles, TensorWithWrongDataSizeIsRejected) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(4);
  p.set_raw_data(std::string(8, '\0'));
  EXPECT_THROW(onnx_io::parse_value_pb(p.SerializeAsString(), nullptr, "t.pb"), Error);
  onnx::TensorProto huge;
  huge.set_data_type(onnx::TensorProto::FLOAT);
  huge.add_dims(int64_t{1} << 40);
  huge.add_dims(int64_t{1} << 40);
  try {
    onnx_io::parse_value_pb(huge.SerializeAsString(), nullptr, "huge.pb");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ResourceLimit);
  }
}

}  // namespace
}  // namespace onyx
